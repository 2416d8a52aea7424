"""ReConnect in the demo: switched on for the product groups with the most overdue
customers, with three months of history up to today (docs/reconnect.md).

The demo's orders are the imported WaWi export; this adds what ReConnect would have
written around them, through the same builders the sending uses:

- **Past episodes**: a customer who ordered from a switched-on group in the last three
  months after a gap of at least ``GAP_DAYS`` was overdue before that order. Each such
  order gets a closed overdue case (opened ``OPENED_BEFORE`` days before the order,
  recovered by it, as the analysis closes cases). If the customer is reachable and the
  send switch is on, ReConnect wrote to them a few days after the case opened (and a
  follow-up after the group's delay, unless they ordered first); otherwise the episode
  stays uncontacted – the comparison the results page shows.
- **Open episodes**: the analysis's open overdue cases of those groups; about
  ``CONTACTED_SHARE`` of the reachable ones were contacted in the period (the rest stay in
  the tab "reachable" for the demo's own contact action), their follow-up sent after the
  delay or skipped for an open order.
- Messages are built by ``outbox`` (addresses, Mailjet variables, the SMS text with its
  unsubscribe notice) and stored as sent at the time; the marketing cap is kept.
- The reconnected orders and their revenue are credited by ``campaigns.attribution``.

Random choices come from one seeded stream, so the same demo gives the same history.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from .campaigns.attribution import attribute
from .extensions import db
from .messaging import outbox
from .messaging.cap import MarketingCap
from .models import (
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    Company,
    Customer,
    Order,
    OrderLine,
    ReconnectContact,
    ReconnectExclusion,
    ReconnectSettings,
    business_tz,
)
from .models.message import ChannelPreference, GroupMessageTexts, MessagePurpose

GROUPS = 3  # switched on: the groups with the most open overdue customers
DAYS = 91  # the history: about three months up to today
GAP_DAYS = 60  # a reorder after at least this gap ends an overdue episode
OPENED_BEFORE = (20, 45)  # days the past episode was overdue before the order
FIRST_AFTER = (1, 8)  # days after opening until the first message
CONTACTED_SHARE = 0.7
SWITCHED_OFF_SHARE = 0.05
DELAY, WINDOW = 14, 30
TEMPLATE_BASE = 6100900
FIRST_SMS = "Hallo {{var:vorname}}, bei uns ist wieder {{var:warengruppe}} für Sie da."
FOLLOWUP_SMS = "Hallo {{var:vorname}}, haben Sie noch {{var:warengruppe}}? Wir beraten Sie gern."


class _Writer:
    """Writes contacts, their messages and case events as the sending would have."""

    def __init__(self, rnd: random.Random, now: datetime) -> None:
        self.rnd, self.now = rnd, now
        self.cap = MarketingCap.load()
        self.sent_at: dict[int, list[datetime]] = defaultdict(list)  # customer -> messages
        self.texts: dict[int, GroupMessageTexts] = {}
        self.counts = defaultdict(int)

    def cap_free(self, customer_id: int, at: datetime) -> bool:
        if not self.cap.on:
            return True
        window = timedelta(days=self.cap.days)
        return all(abs(at - t) >= window for t in self.sent_at[customer_id])

    def plan(self, case: Case, group_id: int):
        customer = case.customer
        ctx = outbox.customer_context(customer)
        company = case.company or ctx.company
        preference = company.channel_preference if company else ChannelPreference.BOTH
        plan = outbox.plan_channels(customer, preference or ChannelPreference.BOTH)
        return customer, ctx, company, plan.channels

    def messages(self, case, purpose: str, at: datetime) -> list[str]:
        customer, ctx, company, channels = self.plan(case, case.product_group_id)
        texts = self.texts[case.product_group_id]
        sent = {}
        for channel in channels:
            try:
                if channel == "email":
                    template = (
                        texts.first_email_template_id
                        if purpose == MessagePurpose.RECONNECT
                        else texts.followup_email_template_id
                    )
                    kind = (
                        "reconnect_first"
                        if purpose == MessagePurpose.RECONNECT
                        else "reconnect_followup"
                    )
                    message = outbox.queue_template_email(
                        customer, ctx, company, template, kind, purpose, None, case_id=case.id
                    )
                else:
                    text = (
                        texts.first_sms_text
                        if purpose == MessagePurpose.RECONNECT
                        else texts.followup_sms_text
                    )
                    message = outbox.queue_text_sms(
                        customer, ctx, company, text, purpose, None, case_id=case.id
                    )
            except outbox.CannotSend:
                continue
            message.state = "sent"
            message.created_at = message.send_after = message.sent_at = at
            message.provider_id = f"demo-{case.id}-{purpose}-{channel}"
            sent[channel] = message
        db.session.flush()
        self.sent_at[case.customer_id].append(at)
        self.counts[purpose] += len(sent)
        return [(c, m.id) for c, m in sent.items()]

    def contact(self, case: Case, first_at: datetime, ordered_at: datetime | None) -> bool:
        """The first message at ``first_at`` and the follow-up after the delay (or its
        reason not to); False if ReConnect could not have written."""
        _c, _x, company, channels = self.plan(case, case.product_group_id)
        if not channels or company is None or not self.cap_free(case.customer_id, first_at):
            return False
        sent = self.messages(case, MessagePurpose.RECONNECT, first_at)
        if not sent:
            return False
        contact = ReconnectContact(
            case_id=case.id,
            customer_id=case.customer_id,
            product_group_id=case.product_group_id,
            company_id=case.company_id,
            first_sent_at=first_at,
            first_channels=",".join(c for c, _i in sent),
            created_at=first_at,
        )
        db.session.add(contact)
        self._event(case, "reconnect_first", first_at, sent)
        if case.status == CaseStatus.NEW:
            case.status = CaseStatus.CONTACTED
        due = first_at + timedelta(days=DELAY)
        if due <= self.now:
            self._followup(contact, case, due, ordered_at)
        self.counts["contacts"] += 1
        return True

    def _followup(self, contact, case, due: datetime, ordered_at: datetime | None) -> None:
        """As the worker decides it at ``due``: skipped if the customer ordered or has an
        open order; inside the cap held (noted once) and sent when the cap allows, unless
        the customer ordered before that."""
        if ordered_at is not None and ordered_at <= due:
            return self._skip(contact, case, "ordered", due)
        if ordered_at is None and self._open_order(case.customer_id):
            return self._skip(contact, case, "open_order", due)
        at = due
        if not self.cap_free(case.customer_id, due):
            window = timedelta(days=self.cap.days)
            before = [t for t in self.sent_at[case.customer_id] if due - window < t <= due]
            if before:
                db.session.flush()
                db.session.add(
                    CaseEvent(case_id=case.id, kind="reconnect_held", created_at=due,
                              form_token=f"reconnect-held:{contact.id}",
                              data={"last": max(before).isoformat()})
                )  # fmt: skip
            at = self._free_slot(case.customer_id, due)
            if ordered_at is not None and (at is None or ordered_at <= at):
                return self._skip(contact, case, "ordered", ordered_at)
            if at is None:
                return None  # still waiting: the worker decides it later
        followup = self.messages(case, MessagePurpose.FOLLOWUP, at)
        if followup:
            contact.followup_at = contact.followup_decided_at = at
            self._event(case, "reconnect_followup", at, followup)
        return None

    def _free_slot(self, customer_id: int, after: datetime) -> datetime | None:
        """The first send slot after ``after``, up to now, that the cap allows."""
        for days in range(1, (self.now - after).days + 1):
            at = _slot(self.rnd, after + timedelta(days=days))
            if at <= self.now and self.cap_free(customer_id, at):
                return at
        return None

    def _skip(self, contact, case, reason: str, at: datetime) -> None:
        contact.followup_skipped, contact.followup_decided_at = reason, at
        db.session.add(
            CaseEvent(case_id=case.id, kind="reconnect_skipped", data={"reason": reason},
                      created_at=at)
        )  # fmt: skip

    @staticmethod
    def _event(case, kind: str, at: datetime, sent) -> None:
        db.session.add(
            CaseEvent(
                case_id=case.id,
                kind=kind,
                data={"message_ids": [i for _c, i in sent], "channels": [c for c, _i in sent]},
                created_at=at,
            )
        )

    @staticmethod
    def _open_order(customer_id: int) -> bool:
        return bool(
            db.session.scalar(
                select(func.count(Order.id)).where(
                    Order.customer_id == customer_id, Order.state == "open"
                )
            )
        )


def _slot(rnd: random.Random, day: datetime) -> datetime:
    """A send-window start on ``day``'s local date (Mon–Sat 8, 12 or 18 o'clock, as the
    default windows), Sunday moved to Monday; in UTC."""
    local = day.astimezone(business_tz()).date()
    if local.weekday() == 6:
        local += timedelta(days=1)
    at = datetime.combine(local, time(rnd.choice((8, 12, 18))), business_tz())
    return at.astimezone(UTC)


def _switch_on(group_ids: list[int], writer: _Writer) -> None:
    for index, group_id in enumerate(group_ids):
        settings = db.session.get(ReconnectSettings, group_id) or ReconnectSettings(
            product_group_id=group_id
        )
        settings.enabled = True
        settings.followup_delay_days, settings.attribution_days = DELAY, WINDOW
        db.session.add(settings)
        texts = db.session.get(GroupMessageTexts, group_id) or GroupMessageTexts(
            product_group_id=group_id
        )
        texts.first_email_template_id = texts.first_email_template_id or (
            TEMPLATE_BASE + index * 2 + 1
        )
        texts.followup_email_template_id = texts.followup_email_template_id or (
            TEMPLATE_BASE + index * 2 + 2
        )
        texts.first_sms_text = texts.first_sms_text or FIRST_SMS
        texts.followup_sms_text = texts.followup_sms_text or FOLLOWUP_SMS
        db.session.add(texts)
        writer.texts[group_id] = texts
    db.session.flush()


def _reorders(group_id: int, since: datetime, now: datetime):
    """(customer, order, its time, company, previous order of the group) for the first
    order of the group in the period after a gap of at least ``GAP_DAYS``."""
    rows = db.session.execute(
        select(Order.customer_id, Order.id, Order.ordered_at, Order.company_id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(
            OrderLine.product_group_id == group_id,
            Order.state.in_(("completed", "open")),
            Order.ordered_at <= now,
        )
        .distinct()
        .order_by(Order.customer_id, Order.ordered_at)
    ).all()
    previous: dict[int, datetime] = {}
    found = set()
    for customer_id, order_id, at, company_id in rows:
        before = previous.get(customer_id)
        previous[customer_id] = at
        if before is None or customer_id in found or at < since + timedelta(days=10):
            continue
        if at - before >= timedelta(days=GAP_DAYS):
            found.add(customer_id)
            yield customer_id, order_id, at, company_id, before


def seed_reconnect(now: datetime, seed: int = 42) -> dict[str, int]:
    """Switch ReConnect on in the demo and write its history; what was written.

    Inside a request context as the worker's (texts in the default language, the
    unsubscribe links of the SMS on the public address)."""
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        return _seed(now, seed)


def _seed(now: datetime, seed: int) -> dict[str, int]:
    if db.session.scalar(select(func.count(ReconnectContact.id))):
        # Loaded again (``--keep``): the history is written once, not twice.
        rc = ReconnectContact
        return {
            "groups": db.session.scalar(
                select(func.count()).where(ReconnectSettings.enabled.is_(True))
            ),
            "contacts": db.session.scalar(select(func.count(rc.id))),
            "reconnected": db.session.scalar(
                select(func.count(rc.id)).where(rc.reconnected_at.is_not(None))
            ),
        }
    rnd = random.Random(f"recovery-demo-reconnect:{seed}")
    since = now - timedelta(days=DAYS)
    writer = _Writer(rnd, now)
    open_overdue = (
        select(Case.product_group_id, func.count(Case.id))
        .where(
            Case.kind == CaseKind.OVERDUE,
            Case.closed_at.is_(None),
            Case.product_group_id.is_not(None),
        )
        .group_by(Case.product_group_id)
        .order_by(func.count(Case.id).desc(), Case.product_group_id)
        .limit(GROUPS)
    )
    group_ids = [g for g, _n in db.session.execute(open_overdue)]
    _switch_on(group_ids, writer)
    customers = set(db.session.scalars(select(Customer.id)))
    off = {c for c in sorted(customers) if rnd.random() < SWITCHED_OFF_SHARE}

    for group_id in group_ids:
        excluded_here = set()
        for customer_id in sorted(off):
            if rnd.random() < 0.5:
                excluded_here.add(customer_id)
                db.session.add(
                    ReconnectExclusion(customer_id=customer_id, product_group_id=group_id)
                )
        for customer_id, order_id, at, company_id, before in list(_reorders(group_id, since, now)):
            opened = max(at - timedelta(days=rnd.randint(*OPENED_BEFORE)), before)
            revenue = db.session.scalar(select(Order.net_total).where(Order.id == order_id))
            case = Case(
                customer_id=customer_id,
                key=f"{CaseKind.OVERDUE}:{group_id}",
                kind=CaseKind.OVERDUE,
                product_group_id=group_id,
                company_id=company_id,
                status=CaseStatus.NEW,
                opened_at=opened,
                closed_at=at,  # closed by the order below (never a second open case)
                last_order_at=before,
                expected_next_order=opened,
                reason_text="überfällig nach dem eigenen Bestellrhythmus",
                analysed_at=opened,
            )
            db.session.add(case)
            db.session.flush()
            first_at = _slot(rnd, opened + timedelta(days=rnd.randint(*FIRST_AFTER)))
            if first_at >= since and first_at < at and customer_id not in excluded_here:
                writer.contact(case, first_at, at)
            case.status = CaseStatus.RECOVERED
            case.recovered_at = at
            case.recovered_order_id = order_id
            case.recovered_revenue = revenue
            db.session.add(
                CaseEvent(case=case, kind="recovered", created_at=at,
                          data={"order": str(order_id), "net": str(revenue or Decimal(0))})
            )  # fmt: skip
            writer.counts["past_episodes"] += 1
        db.session.commit()

        cases = db.session.scalars(
            select(Case)
            .join(Company, Company.id == Case.company_id)
            .where(
                Case.kind == CaseKind.OVERDUE,
                Case.closed_at.is_(None),
                Case.product_group_id == group_id,
            )
            .order_by(Case.id)
        ).all()
        for case in cases:
            if case.customer_id in excluded_here or rnd.random() >= CONTACTED_SHARE:
                continue
            # Overdue since its expected order; contacted some days later, or – overdue
            # before the period – at some time in it, as the merchant went through them.
            opened = case.expected_next_order or since
            earliest = max(opened, since) + timedelta(days=rnd.randint(*FIRST_AFTER))
            if earliest >= now - timedelta(days=1):
                continue
            spread = (now - timedelta(days=1) - earliest).total_seconds()
            first_at = _slot(rnd, earliest + timedelta(seconds=rnd.uniform(0, spread)))
            if not since <= first_at < now:
                continue
            case.opened_at = min(case.opened_at, opened)
            writer.contact(case, first_at, None)
        db.session.commit()
    writer.counts["reconnected"] = attribute(now)
    writer.counts["groups"] = len(group_ids)
    return dict(writer.counts)

"""The reorder reminder, decided by the worker (R6, docs/reconnect.md).

Per product group with a reminder: "N days after the order" starts from every
completed order of the group, "at the predicted time" from the analysis's
``reorder_due`` (D days before the pair would become overdue). Only while a send window
is open, so the decision is taken when the message can go out. Each candidate is
decided once: the ``reorder_reminder`` row (unique customer × group × starting order)
is inserted with its outcome in the same transaction as its messages, so a worker
killed half-way and started again decides only what is left. A customer inside the
marketing cap is *held* on the row and decided again once the cap allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update

from ..extensions import db
from ..messaging import outbox
from ..messaging.cap import MarketingCap
from ..models import (
    Company,
    Customer,
    Order,
    OrderLine,
    ReconnectExclusion,
    ReminderMode,
    ReorderDue,
    ReorderReminder,
    utcnow,
)
from ..models.message import Channel, ChannelPreference, MessagePurpose
from .overdue import with_open_order
from .reminder_settings import ReminderSettings, reminder_settings
from .settings import insert_ignoring
from .windows import SendWindows

BATCH = 200
# A reminder whose moment passed longer ago than this is not sent any more (switched on
# late, worker stopped): it would no longer fit the order it refers to.
LATE = timedelta(days=7)
_REAL = ("completed", "open")


@dataclass
class ReminderResult:
    sent: int = 0
    held: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def count(self, state: str, reason: str | None) -> None:
        if state == "sent":
            self.sent += 1
        elif state == "held":
            self.held += 1
        else:
            self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass(frozen=True)
class Candidate:
    customer_id: int
    product_group_id: int
    order_id: int
    company_id: int | None
    started_at: datetime  # when the starting order was placed
    due_at: datetime


def group_line(group_id: int):
    """A real line of ``group_id`` in ``Order`` (cancelled or returned lines do not count)."""
    return exists().where(
        OrderLine.order_id == Order.id,
        OrderLine.product_group_id == group_id,
        or_(OrderLine.state.is_(None), OrderLine.state.in_(_REAL)),
    )


def not_decided(customer, group_id: int, order):
    r = ReorderReminder
    return ~exists().where(
        r.customer_id == customer, r.product_group_id == group_id, r.order_id == order
    )


def _after_order(s: ReminderSettings, now: datetime, limit: int) -> list[Candidate]:
    """Completed orders of the group placed N days ago (up to ``LATE`` more)."""
    due_from = now - timedelta(days=s.days_after)
    rows = db.session.execute(
        select(Order.customer_id, Order.id, Order.company_id, Order.ordered_at)
        .where(
            Order.ordered_at <= due_from,
            Order.ordered_at > due_from - LATE,
            Order.state == "completed",
            group_line(s.product_group_id),
            not_decided(Order.customer_id, s.product_group_id, Order.id),
        )
        .order_by(Order.ordered_at, Order.id)
        .limit(limit)
    )
    days = timedelta(days=s.days_after)
    return [
        Candidate(customer, s.product_group_id, order, company, at, at + days)
        for customer, order, company, at in rows
    ]


def _predicted(s: ReminderSettings, now: datetime, limit: int) -> list[Candidate]:
    """Pairs that become overdue within D days (and are not overdue yet)."""
    before = timedelta(days=s.days_before)
    d = ReorderDue
    rows = db.session.execute(
        select(d.customer_id, d.order_id, d.company_id, d.last_order_at, d.overdue_from)
        .where(
            d.product_group_id == s.product_group_id,
            d.overdue_from <= now + before,
            d.overdue_from > now + before - LATE,
            d.overdue_from > now,
            not_decided(d.customer_id, s.product_group_id, d.order_id),
        )
        .order_by(d.overdue_from, d.customer_id)
        .limit(limit)
    )
    return [
        Candidate(customer, s.product_group_id, order, company, at, overdue - before)
        for customer, order, company, at, overdue in rows
    ]


def ordered_again(
    customer_id: int, group_id: int, order_id: int, since: datetime, until: datetime | None = None
) -> bool:
    """A completed or open order of the group at or after ``since`` (and by ``until``,
    the moment of the decision, when given), other than the starting order."""
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Order.customer_id == customer_id,
                    Order.id != order_id,
                    Order.ordered_at >= since,
                    Order.state.in_(_REAL),
                    group_line(group_id),
                    *_placed_by(until),
                )
            )
        )
    )


def has_open_order(customer_id: int, until: datetime | None = None) -> bool:
    """An open order (placed by ``until``, the moment of the decision, when given)."""
    return bool(with_open_order({customer_id}, until))


def _placed_by(until: datetime | None) -> tuple:
    """Orders placed by the moment of a decision: the demo decides its history day by
    day over orders that were placed later."""
    return () if until is None else (Order.ordered_at <= until,)


def _why_not(c: Candidate, s: ReminderSettings, now: datetime) -> str | None:
    """The first reason that forbids the reminder, before the customer's channels."""
    if ordered_again(c.customer_id, c.product_group_id, c.order_id, c.started_at, now):
        return "ordered"
    if has_open_order(c.customer_id, now):
        return "open_order"
    if not s.on:
        return "reminder_off"
    if db.session.get(ReconnectExclusion, (c.customer_id, c.product_group_id)) is not None:
        return "switched_off"
    if not s.channels:
        return "no_text"
    return None


@dataclass
class Verdict:
    state: str
    reason: str | None = None
    held_until: datetime | None = None
    message_ids: dict[str, int] = field(default_factory=dict)

    def values(self, now: datetime) -> dict:
        return {
            "state": self.state,
            "reason": self.reason,
            "held_until": self.held_until,
            "decided_at": now,
            "sent_at": now if self.state == "sent" else None,
            "channels": ",".join(self.message_ids) or None,
            "email_message_id": self.message_ids.get(Channel.EMAIL),
            "sms_message_id": self.message_ids.get(Channel.SMS),
        }


def judge(c: Candidate, s: ReminderSettings, cap: MarketingCap, now: datetime) -> Verdict:
    """Decide one reminder; queues its messages when it goes (in the open transaction)."""
    reason = _why_not(c, s, now)
    if reason:
        return Verdict("skipped", reason)
    customer = db.session.get(Customer, c.customer_id)
    ctx = outbox.customer_context(customer)
    # From the company that took the starting order.
    company = db.session.get(Company, c.company_id) if c.company_id else ctx.company
    preference = company.channel_preference if company else ChannelPreference.BOTH
    plan = outbox.plan_channels(customer, preference, available=s.channels)
    if not plan.channels:
        return Verdict("skipped", "unsubscribed")
    last = cap.last_within(customer.id, now)
    if last is not None:
        # the cap counts the last message's own moment in: free just after it
        allowed = last + timedelta(days=cap.days, seconds=1)
        until = SendWindows.load().next_open(max(allowed, now))
        return Verdict("held", "cap", until)
    verdict = Verdict("sent")
    for channel in plan.channels:
        try:
            verdict.message_ids[channel] = _queue(channel, customer, ctx, company, s).id
        except outbox.CannotSend:
            continue
    if not verdict.message_ids:
        return Verdict("skipped", "cannot_send")
    return verdict


def _queue(channel, customer, ctx, company, s: ReminderSettings):
    if channel == Channel.EMAIL:
        return outbox.queue_template_email(
            customer,
            ctx,
            company,
            s.email_template_id,
            "reorder_reminder",
            MessagePurpose.REMINDER,
            None,
        )
    return outbox.queue_text_sms(customer, ctx, company, s.sms_text, MessagePurpose.REMINDER, None)


def _decide_new(c: Candidate, s: ReminderSettings, cap, now, result: ReminderResult) -> None:
    """Insert the reminder with its outcome: the conditional write that makes it once."""
    mode = s.mode
    claimed = db.session.execute(
        insert_ignoring(ReorderReminder)
        .values(
            customer_id=c.customer_id,
            product_group_id=c.product_group_id,
            order_id=c.order_id,
            company_id=c.company_id,
            mode=mode,
            due_at=c.due_at,
            state="deciding",
            decided_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(ReorderReminder.id)
    ).scalar()
    if claimed is None:  # another worker decided it
        db.session.rollback()
        return
    verdict = judge(c, s, cap, now)
    _store(claimed, verdict, now, "deciding")
    db.session.commit()
    result.count(verdict.state, verdict.reason)


def _store(reminder_id: int, verdict: Verdict, now: datetime, was: str) -> bool:
    done = db.session.execute(
        update(ReorderReminder)
        .where(ReorderReminder.id == reminder_id, ReorderReminder.state == was)
        .values(**verdict.values(now))
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1


def _decide_held(row: ReorderReminder, s: ReminderSettings, cap, now, result) -> None:
    """A held reminder, decided again now that the cap may allow it."""
    c = Candidate(
        row.customer_id,
        row.product_group_id,
        row.order_id,
        row.company_id,
        db.session.scalar(select(Order.ordered_at).where(Order.id == row.order_id)),
        row.due_at,
    )
    if now - row.due_at > LATE + timedelta(days=cap.days):
        verdict = Verdict("skipped", "too_late")  # held so long it no longer fits the order
    else:
        verdict = judge(c, s, cap, now)
    if verdict.state == "held" and verdict.held_until == row.held_until:
        db.session.rollback()
        return
    if not _store(row.id, verdict, now, "held"):
        db.session.rollback()  # another worker decided it
        return
    db.session.commit()
    result.count(verdict.state, verdict.reason)


def _held(group_id: int, now: datetime, limit: int) -> list[ReorderReminder]:
    r = ReorderReminder
    return db.session.scalars(
        select(r)
        .where(and_(r.state == "held", r.held_until <= now, r.product_group_id == group_id))
        .order_by(r.held_until, r.id)
        .limit(limit)
    ).all()


CANDIDATES = {ReminderMode.AFTER: _after_order, ReminderMode.PREDICTED: _predicted}


def decide_reminders(now: datetime | None = None, limit: int = BATCH) -> ReminderResult:
    """Decide the reminders that are due, per group with a reminder; only inside a send
    window."""
    now = now or utcnow()
    result = ReminderResult()
    if not SendWindows.load().is_open(now):
        return result
    cap = MarketingCap.load()
    for s in reminder_settings().values():
        if not s.on:
            continue
        for row in _held(s.product_group_id, now, limit):
            _decide_held(row, s, cap, now, result)
        for c in CANDIDATES[s.mode](s, now, limit):
            _decide_new(c, s, cap, now, result)
    return result

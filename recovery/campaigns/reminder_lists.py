"""The reorder reminder in numbers and lists (R6): per group, the reminders sent in the
last 3 months and what they brought back (counted like ReConnect: reordered from the
group inside its attribution window, the revenue in the group), and per group the
reminders coming up, sent, held by the cap and not sent with their reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, literal, select

from ..extensions import db
from ..messaging.cap import MarketingCap
from ..models import (
    Customer,
    Order,
    ReminderMode,
    ReorderDue,
    ReorderReminder,
)
from ..models.message import CHANNEL_LABELS
from ..models.reorder import REMINDER_SKIP_LABELS
from .lists import group_names, results_since
from .reminder_settings import ReminderSettings, reminder_settings
from .reminders import LATE, Candidate, check, free_from, group_line, not_decided

PAGE = 50
SHOWS = {
    "upcoming": _l("Coming up"),
    "sent": _l("Sent"),
    "held": _l("Held by the cap"),
    "skipped": _l("Not sent"),
}


@dataclass
class ReminderRow:
    group_id: int | None
    name: str
    mode: str = ReminderMode.OFF
    sent: int = 0
    reordered: int = 0
    revenue: Decimal = field(default_factory=lambda: Decimal("0.00"))
    held: int = 0
    skipped: int = 0

    @property
    def rate(self) -> float | None:
        """Reordered in percent of the reminders sent; None without any."""
        return self.reordered * 100 / self.sent if self.sent else None

    @property
    def per_customer(self) -> Decimal | None:
        return (self.revenue / self.sent).quantize(Decimal("0.01")) if self.sent else None

    def add(self, other: ReminderRow) -> None:
        self.sent += other.sent
        self.reordered += other.reordered
        self.revenue += other.revenue
        self.held += other.held
        self.skipped += other.skipped


@dataclass
class ReminderSummary:
    since: datetime
    groups: list[ReminderRow]
    total: ReminderRow


# Per (group, company; 0 for none): sent, reordered, revenue, held, skipped.
Counts = dict[tuple[int, int], tuple[int, int, Decimal, int, int]]


def count(company_id: int | None, now: datetime) -> Counts:
    """The reminders of the last 3 months per group and company (the held ones of any
    time), for ``company_id`` only if set."""
    since = results_since(now)
    r = ReorderReminder
    company = func.coalesce(r.company_id, literal(0))
    stmt = (
        select(
            r.product_group_id,
            company,
            func.count().filter(and_(r.state == "sent", r.sent_at >= since)),
            func.count().filter(
                and_(r.state == "sent", r.sent_at >= since, r.reordered_at.is_not(None))
            ),
            func.sum(r.reordered_revenue).filter(and_(r.state == "sent", r.sent_at >= since)),
            func.count().filter(r.state == "held"),
            func.count().filter(and_(r.state == "skipped", r.decided_at >= since)),
        )
        .where((r.decided_at >= since) | (r.state == "held"))
        .group_by(r.product_group_id, company)
    )
    if company_id is not None:
        stmt = stmt.where(r.company_id == company_id)
    return {
        (gid, key): (sent, reordered, Decimal(revenue or 0), held, skipped)
        for gid, key, sent, reordered, revenue, held, skipped in db.session.execute(stmt)
    }


def summary(
    company_id: int | None, now: datetime, counted: tuple[datetime, Counts] | None = None
) -> ReminderSummary:
    """Per group with a reminder (or reminders in the period) and in total: counted now,
    or ``counted`` (the period's start and the counts, from ``results_tally``)."""
    since, by_company = counted or (results_since(now), count(company_id, now))
    counts: dict[int, ReminderRow] = {}
    for (gid, company), values in by_company.items():
        if company_id is None or company == company_id:
            part = ReminderRow(gid, "", ReminderMode.OFF, *values)
            counts.setdefault(gid, ReminderRow(gid, "")).add(part)
    settings = {gid: s for gid, s in reminder_settings().items() if s.on}
    names = group_names(set(counts) | set(settings))
    rows = []
    for gid in sorted(names, key=lambda g: names[g].lower()):
        row = counts.get(gid) or ReminderRow(gid, "")
        row.name = names[gid]
        row.mode = settings[gid].mode if gid in settings else ReminderMode.OFF
        rows.append(row)
    total = ReminderRow(None, str(_l("All product groups")))
    for row in rows:
        total.add(row)
    return ReminderSummary(since, rows, total)


@dataclass
class ListRow:
    customer_id: int
    number: str | None
    name: str
    company_id: int | None
    started_at: datetime | None
    due_at: datetime | None
    decided_at: datetime | None = None
    held_until: datetime | None = None
    sent_at: datetime | None = None
    channels: str | None = None
    reason: str | None = None
    reordered_at: datetime | None = None
    reordered_revenue: Decimal | None = None
    # coming up: "send", "held" (by the cap until ``held_until``) or "skip" (``reason``)
    outlook: str | None = None


@dataclass
class ReminderPage:
    show: str
    settings: ReminderSettings
    rows: list[ListRow]
    page: int
    has_next: bool


def _name(c: Customer) -> str:
    return c.display_name


def _upcoming_rows(s: ReminderSettings, company_id, now, offset) -> list[tuple]:
    """(customer, candidate) of the reminders not decided yet (due later, or due and
    waiting for a send window): from the orders of the last N days, or from the
    analysis's predictions."""
    if s.mode == ReminderMode.AFTER:
        days = timedelta(days=s.days_after)
        stmt = (
            select(Customer, Order.id, Order.company_id, Order.ordered_at, Order.ordered_at)
            .join(Customer, Customer.id == Order.customer_id)
            .where(
                Order.ordered_at > now - days - LATE,
                Order.state == "completed",
                group_line(s.product_group_id),
                not_decided(Order.customer_id, s.product_group_id, Order.id),
            )
            .order_by(Order.ordered_at, Order.id)
        )
        column, shift = Order.company_id, days
    elif s.mode == ReminderMode.PREDICTED:
        before = timedelta(days=s.days_before)
        d = ReorderDue
        stmt = (
            select(Customer, d.order_id, d.company_id, d.last_order_at, d.overdue_from)
            .join(Customer, Customer.id == d.customer_id)
            .where(
                d.product_group_id == s.product_group_id,
                d.overdue_from > now,
                not_decided(d.customer_id, s.product_group_id, d.order_id),
            )
            .order_by(d.overdue_from, d.customer_id)
        )
        column, shift = d.company_id, -before
    else:
        return []
    if company_id is not None:
        stmt = stmt.where(column == company_id)
    return [
        (c, Candidate(c.id, s.product_group_id, order, company, started, due + shift))
        for c, order, company, started, due in db.session.execute(
            stmt.offset(offset).limit(PAGE + 1)
        )
    ]


def _refused(refused: dict[str, str]) -> str:
    """Why no channel can carry it, per channel: "E-Mail: no email address; …"."""
    return "; ".join(f"{CHANNEL_LABELS[channel]}: {why}" for channel, why in refused.items())


def _upcoming(s: ReminderSettings, company_id, now, offset) -> list[ListRow]:
    """The reminders coming up, each with whether it would be sent as things stand now
    and, if not, why: the worker's own checks (``reminders.check``), one statement per
    kind of check for the page's rows."""
    found = _upcoming_rows(s, company_id, now, offset)
    cap = MarketingCap.load()
    checked = check([c for _customer, c in found], s, cap, now)
    rows = []
    for (customer, c), outcome in zip(found, checked.outcomes, strict=True):
        row = ListRow(
            customer.id, customer.number, _name(customer), c.company_id, c.started_at, c.due_at
        )
        if outcome.reason == "unsubscribed":
            row.outlook, row.reason = "skip", _refused(outcome.refused)
        elif outcome.reason:
            row.outlook, row.reason = "skip", str(REMINDER_SKIP_LABELS[outcome.reason])
        elif outcome.held_by is not None and free_from(cap, outcome.held_by) > max(c.due_at, now):
            row.outlook, row.held_until = "held", free_from(cap, outcome.held_by)
        else:
            row.outlook = "send"
            row.channels = ", ".join(str(CHANNEL_LABELS[ch]) for ch in outcome.channels)
        rows.append(row)
    return rows


def _decided(group_id: int, state: str, company_id, offset):
    r = ReorderReminder
    order = {"held": (r.held_until, r.id), "sent": (r.sent_at.desc(), r.id.desc())}.get(
        state, (r.decided_at.desc(), r.id.desc())
    )
    stmt = (
        select(r, Customer, Order.ordered_at)
        .join(Customer, Customer.id == r.customer_id)
        .join(Order, Order.id == r.order_id)
        .where(r.product_group_id == group_id, r.state == state)
        .order_by(*order)
    )
    if company_id is not None:
        stmt = stmt.where(r.company_id == company_id)
    rows = []
    for rem, c, started in db.session.execute(stmt.offset(offset).limit(PAGE + 1)):
        rows.append(
            ListRow(
                c.id,
                c.number,
                _name(c),
                rem.company_id,
                started,
                rem.due_at,
                rem.decided_at,
                rem.held_until,
                rem.sent_at,
                ", ".join(str(CHANNEL_LABELS[c]) for c in (rem.channels or "").split(",") if c),
                str(REMINDER_SKIP_LABELS.get(rem.reason, rem.reason)) if rem.reason else None,
                rem.reordered_at,
                rem.reordered_revenue,
            )
        )
    return rows


def reminder_page(
    group_id: int, show: str, company_id: int | None, page: int, now: datetime
) -> ReminderPage:
    """One page of a group's reminders in ``show`` (a key of ``SHOWS``)."""
    s = reminder_settings([group_id])[group_id]
    offset = (max(page, 1) - 1) * PAGE
    if show == "upcoming":
        rows = _upcoming(s, company_id, now, offset)
    else:
        rows = _decided(group_id, show, company_id, offset)
    return ReminderPage(show, s, rows[:PAGE], max(page, 1), len(rows) > PAGE)

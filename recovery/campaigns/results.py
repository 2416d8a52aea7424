"""ReConnect's results (R5): the last 3 months per product group and in total, per month
for the chart, and the comparison with overdue customers who were not contacted.

The period runs from :func:`lists.results_since` (the same day three months ago,
business time zone) to ``now``.

- **Overdue**: overdue episodes (cases of kind ``overdue``) open at some time in the
  period: opened before ``now``, not closed before the period began.
- **Contacted**: contacts whose first message went out in the period. **Reconnected**:
  those of them credited with an order (R4, ``attribution``), and that revenue. The rate
  is reconnected / contacted, the same customers counted on both sides.
- **Not contacted** (the comparison): overdue episodes of the period that ReConnect never
  contacted because the send switch is off or the customer is not reachable (consent,
  address, channel preference – as the customer is recorded now; the past state is not
  kept). Reachable customers nobody contacted are in neither group. They count as
  reordered by the same rule as a contact, from the moment the episode was overdue in
  the period (its ``opened_at``, or the start of the period if it was opened before):
  the first real order of the group inside the group's attribution window, with its net
  revenue in the group. The total compares only the groups ReConnect wrote to in the
  period: a group it never used says nothing about its effect.
- **Per month** (business time zone): first messages by the month they went out,
  reconnected and revenue by the month of the reconnecting order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, case, cast, func, literal, or_, select

from ..extensions import db
from ..models import (
    Case,
    CaseKind,
    Company,
    Customer,
    Order,
    OrderLine,
    ReconnectContact,
    ReconnectExclusion,
    ReconnectSettings,
    business_tz,
)
from ..models.user import restrict_to_company
from .lists import REACH, group_names, results_since
from .settings import GroupSettings, group_settings

ZERO = Decimal("0.00")
# Orders that count (as in ``attribution``): a cancelled or returned one does not.
_REAL = ("completed", "open")


@dataclass
class Cohort:
    """Customers (episodes), how many of them ordered again, and that revenue."""

    customers: int = 0
    reordered: int = 0
    revenue: Decimal = field(default_factory=lambda: ZERO)

    @property
    def rate(self) -> float | None:
        """Reordered in percent of the customers; None without customers."""
        return self.reordered * 100 / self.customers if self.customers else None

    @property
    def per_customer(self) -> Decimal | None:
        if not self.customers:
            return None
        return (self.revenue / self.customers).quantize(Decimal("0.01"))

    def add(self, other: Cohort) -> None:
        self.customers += other.customers
        self.reordered += other.reordered
        self.revenue += other.revenue


@dataclass
class ResultRow:
    group_id: int
    name: str  # a lazy text for the total
    enabled: bool = False
    overdue: int = 0
    contacted: Cohort = field(default_factory=Cohort)
    not_contacted: Cohort = field(default_factory=Cohort)
    switched_off: int = 0  # of the not contacted: the send switch is off
    unreachable: int = 0  # of the not contacted: switch on, not reachable

    @property
    def compared(self) -> bool:
        """ReConnect wrote to someone of the group in the period: only then does the
        comparison with the customers not contacted say something."""
        return self.contacted.customers > 0

    @property
    def uplift(self) -> float | None:
        """Reconnect rate minus the not-contacted reorder rate, in percentage points."""
        a, b = self.contacted.rate, self.not_contacted.rate
        return None if a is None or b is None else a - b


@dataclass
class MonthRow:
    month: date  # the first day of the month
    contacted: int = 0
    reconnected: int = 0
    revenue: Decimal = field(default_factory=lambda: ZERO)


@dataclass
class Results:
    since: datetime
    groups: list[ResultRow]
    months: list[MonthRow]
    counted_at: datetime | None = None  # read from the tally counted then; None: live

    @property
    def total(self) -> ResultRow:
        total = ResultRow(0, _l("All product groups"))
        for row in self.groups:
            total.overdue += row.overdue
            total.contacted.add(row.contacted)
            if row.contacted.customers:  # compared only where ReConnect wrote to someone
                total.not_contacted.add(row.not_contacted)
                total.switched_off += row.switched_off
                total.unreachable += row.unreachable
        return total

    @property
    def peak(self) -> int:
        """The largest monthly count, the chart's scale (at least 1)."""
        return max([1] + [m.contacted for m in self.months] + [m.reconnected for m in self.months])

    @property
    def peak_revenue(self) -> Decimal:
        return max([Decimal(1)] + [m.revenue for m in self.months])


def _months(start: date, end: date) -> list[date]:
    months, current = [], start.replace(day=1)
    while current <= end:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return months


def _local_month(value: datetime) -> date:
    return value.astimezone(business_tz()).date().replace(day=1)


def _month_of(column, months: list[date]):
    """The index in ``months`` of the business-time month of ``column``, as SQL: the
    months' starts (midnight, business time zone) compared as instants, the same on
    both databases."""
    tz = business_tz()
    starts = [datetime.combine(m, time.min, tz) for m in months[1:]]
    if not starts:
        return literal(0)
    return case(*((column < start, i) for i, start in enumerate(starts)), else_=len(starts))


Key = tuple[int, int]  # (product group, company; 0 for none)


@dataclass
class Counted:
    """The results' figures per (group, company) and per (company, month), as counted
    by :func:`count` – live, or read back from the tally (``results_tally``)."""

    since: datetime
    now: datetime
    groups: dict[Key, ResultRow] = field(default_factory=dict)
    months: dict[tuple[int, date], MonthRow] = field(default_factory=dict)

    def group(self, group_id: int, company: int) -> ResultRow:
        if (group_id, company) not in self.groups:
            self.groups[group_id, company] = ResultRow(group_id, "")
        return self.groups[group_id, company]

    def month(self, company: int, month: date) -> MonthRow:
        if (company, month) not in self.months:
            self.months[company, month] = MonthRow(month)
        return self.months[company, month]


def _company(column):
    """A company id as a grouping key: 0 for none."""
    return func.coalesce(column, literal(0))


def results(company_id: int | None, now: datetime) -> Results:
    """R5 for the user's company (``company_id``; None: every company), counted now."""
    return assemble(count(company_id, now), company_id)


def count(company_id: int | None, now: datetime) -> Counted:
    """Count the period's figures per group and company (of ``company_id`` only if set)."""
    since = results_since(now)
    starts = _months(since.date(), _local_month(now))
    counted = Counted(since, now)

    for group_id, company, n in _overdue_counts(company_id, since, now):
        counted.group(group_id, company).overdue = n

    rc = ReconnectContact
    credited = rc.reconnected_at.is_not(None)
    company = _company(rc.company_id)
    sent = restrict_to_company(
        select().where(rc.first_sent_at >= since, rc.first_sent_at <= now),
        rc.company_id,
        company_id,
    )
    per_group = sent.with_only_columns(
        rc.product_group_id,
        company,
        func.count(),
        func.count(rc.reconnected_at),
        func.sum(case((credited, rc.reconnected_revenue), else_=0)),
    ).group_by(rc.product_group_id, company)
    for group_id, key, contacted, reordered, revenue in db.session.execute(per_group):
        cohort = counted.group(group_id, key).contacted
        cohort.customers, cohort.reordered = contacted, reordered
        cohort.revenue = Decimal(revenue or 0).quantize(Decimal("0.01"))
    month = _month_of(rc.first_sent_at, starts)
    by_month = sent.with_only_columns(month, company, func.count()).group_by(month, company)
    for index, key, contacted in db.session.execute(by_month):
        counted.month(key, starts[index]).contacted = contacted
    month = _month_of(rc.reconnected_at, starts)
    won = restrict_to_company(
        select(month, company, func.count(), func.sum(rc.reconnected_revenue))
        .where(rc.reconnected_at >= since, rc.reconnected_at <= now, rc.first_sent_at <= now)
        .group_by(month, company),
        rc.company_id,
        company_id,
    )
    for index, key, reconnected, revenue in db.session.execute(won):
        row = counted.month(key, starts[index])
        row.reconnected = reconnected
        row.revenue = Decimal(revenue or 0).quantize(Decimal("0.01"))

    _not_contacted(company_id, since, now, counted.group)
    return counted


def assemble(counted: Counted, company_id: int | None) -> Results:
    """The page's results from the counted figures: the companies the user sees added
    up, each group with its name and switch."""
    rows: dict[int, ResultRow] = {}
    for (group_id, company), part in counted.groups.items():
        if company_id is not None and company != company_id:
            continue
        row = rows.setdefault(group_id, ResultRow(group_id, ""))
        row.overdue += part.overdue
        row.contacted.add(part.contacted)
        row.not_contacted.add(part.not_contacted)
        row.switched_off += part.switched_off
        row.unreachable += part.unreachable
    starts = _months(counted.since.date(), _local_month(counted.now))
    months = {m: MonthRow(m) for m in starts}
    for (company, month), part in counted.months.items():
        if (company_id is not None and company != company_id) or month not in months:
            continue
        months[month].contacted += part.contacted
        months[month].reconnected += part.reconnected
        months[month].revenue += part.revenue
    names = group_names(rows)
    settings = group_settings(rows)
    for group_id, result in rows.items():
        result.name = names.get(group_id, "")
        result.enabled = settings[group_id].enabled
    ordered = sorted(rows.values(), key=lambda r: (-r.overdue, r.name))
    return Results(counted.since, ordered, list(months.values()))


def _in_period(stmt, company_id: int | None, since: datetime, now: datetime):
    """``stmt`` limited to the overdue episodes open at some time in the period."""
    stmt = stmt.where(
        Case.kind == CaseKind.OVERDUE,
        Case.product_group_id.is_not(None),
        Case.opened_at <= now,
        or_(Case.closed_at.is_(None), Case.closed_at >= since),
    )
    return restrict_to_company(stmt, Case.company_id, company_id)


def _overdue_counts(company_id, since, now):
    company = _company(Case.company_id)
    stmt = select(Case.product_group_id, company, func.count()).group_by(
        Case.product_group_id, company
    )
    return db.session.execute(_in_period(stmt, company_id, since, now)).tuples().all()


def _plus_days(moment, days):
    """``moment`` + ``days`` (a column) in SQL, on PostgreSQL and SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        return moment + func.make_interval(0, 0, 0, days)
    return func.strftime("%Y-%m-%d %H:%M:%f", moment, "+" + cast(days, String) + " days")


def _not_contacted(company_id, since, now, row) -> None:
    """The comparison: episodes never contacted, switched off or not reachable; those
    that reordered inside the group's window, each with its first such order."""
    never = ~select(ReconnectContact.id).where(ReconnectContact.case_id == Case.id).exists()
    switched_off = ReconnectExclusion.customer_id.is_not(None)
    reachable = REACH.reachable(Company.channel_preference)
    base = (
        select(Case.id)
        .select_from(Case)
        .join(Customer, Customer.id == Case.customer_id)
        .outerjoin(Company, Company.id == Case.company_id)
        .outerjoin(
            ReconnectExclusion,
            (ReconnectExclusion.customer_id == Case.customer_id)
            & (ReconnectExclusion.product_group_id == Case.product_group_id),
        )
    )
    base = _in_period(REACH.join(base), company_id, since, now).where(
        never, or_(switched_off, ~reachable)
    )
    company = _company(Case.company_id)
    counts = base.with_only_columns(Case.product_group_id, company, switched_off, func.count())
    for group_id, key, off, n in db.session.execute(
        counts.group_by(Case.product_group_id, company, switched_off)
    ):
        result = row(group_id, key)
        result.not_contacted.customers += n
        if off:
            result.switched_off += n
        else:
            result.unreachable += n
    # From when the episode was overdue in the period, inside the group's window.
    start = case(
        (Case.opened_at > since, Case.opened_at), else_=literal(since, Case.opened_at.type)
    )
    days = func.coalesce(ReconnectSettings.attribution_days, GroupSettings(0).attribution_days)
    line_counts = or_(OrderLine.state.is_(None), OrderLine.state.in_(_REAL))
    first = func.row_number().over(partition_by=Case.id, order_by=(Order.ordered_at, Order.id))
    orders = (
        base.with_only_columns(
            Case.product_group_id,
            company.label("company"),
            func.sum(OrderLine.net_amount).label("revenue"),
            first.label("n"),
        )
        .join(Order, Order.customer_id == Case.customer_id)
        .join(
            OrderLine,
            (OrderLine.order_id == Order.id)
            & (OrderLine.product_group_id == Case.product_group_id),
        )
        .outerjoin(ReconnectSettings, ReconnectSettings.product_group_id == Case.product_group_id)
        .where(
            Order.ordered_at > since,
            Order.ordered_at > Case.opened_at,
            Order.ordered_at <= now,
            Order.ordered_at <= _plus_days(start, days),
            Order.state.in_(_REAL),
            line_counts,
        )
        .group_by(Case.id, Case.product_group_id, Case.company_id, Order.id, Order.ordered_at)
        .subquery()
    )
    reorders = (
        select(
            orders.c.product_group_id, orders.c.company, func.count(), func.sum(orders.c.revenue)
        )
        .where(orders.c.n == 1)
        .group_by(orders.c.product_group_id, orders.c.company)
    )
    for group_id, key, reordered, revenue in db.session.execute(reorders):
        cohort = row(group_id, key).not_contacted
        cohort.reordered = reordered
        cohort.revenue = Decimal(revenue or 0).quantize(Decimal("0.01"))

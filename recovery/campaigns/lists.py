"""ReConnect's overview per product group (R1) and its tabs (R2), counted and paged in
the database.

Overdue means an open overdue case (``Case.kind == "overdue"``, one per customer ×
group). Until ReConnect contacted that case it is *reachable* or *not reachable* by the
SQL of ``messaging.reach`` (consent, address, the company's channel preference, the
marketing cap); the rows of a page get their reasons in words from
``outbox.plan_channels``, the decision every send makes. Once contacted it is in
``reconnect_contact``, and the tabs "first message", "follow-up" and "reconnected"
list the contacts of the last three months by that date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, or_, select

from ..extensions import db
from ..messaging import outbox, reach
from ..messaging.cap import MarketingCap
from ..models import (
    Case,
    CaseKind,
    Company,
    Customer,
    ProductGroup,
    ReconnectContact,
    ReconnectExclusion,
    business_tz,
)
from ..models.message import CHANNEL_LABELS, Channel, ChannelPreference
from ..models.reconnect import FOLLOWUP_SKIP_LABELS
from ..models.user import restrict_to_company
from .settings import group_settings

PAGE_SIZE = 50
# The do-not-contact records joined to every statement over the overdue cases.
REACH = reach.Reach()
RESULT_MONTHS = 3
TABS = ("reachable", "unreachable", "first", "followup", "reconnected")
TAB_LABELS = {
    "reachable": _l("Overdue, reachable"),
    "unreachable": _l("Overdue, not reachable"),
    "first": _l("First message sent"),
    "followup": _l("Follow-up sent"),
    "reconnected": _l("Reconnected"),
}


def results_since(now: datetime) -> datetime:
    """The start of the results period: the same day three months ago, business time."""
    today = now.astimezone(business_tz()).date()
    month = today.month - RESULT_MONTHS
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    day = min(today.day, _days_in(year, month))
    return datetime.combine(date(year, month, day), time.min, business_tz())


def _days_in(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - date(year, month, 1)).days


def open_overdue(stmt: Select, company_id: int | None) -> Select:
    """``stmt`` limited to the open overdue cases (of the user's company, if restricted)."""
    stmt = stmt.where(
        Case.kind == CaseKind.OVERDUE,
        Case.closed_at.is_(None),
        Case.product_group_id.is_not(None),
    )
    return restrict_to_company(stmt, Case.company_id, company_id)


def excluded() -> ColumnElement[bool]:
    return exists().where(
        ReconnectExclusion.customer_id == Case.customer_id,
        ReconnectExclusion.product_group_id == Case.product_group_id,
    )


class Overdue:
    """Statements over the open overdue cases as of ``now``: each case with its customer,
    company and do-not-contact records joined once, and the conditions of the tabs.

    The contact of the episode and the cap are NOT EXISTS conditions (PostgreSQL runs them
    as hash anti joins), never inside a CASE: there they become a sub-query per row,
    whose cost estimate makes PostgreSQL compile the statement (JIT) for seconds.
    """

    def __init__(self, now: datetime, company_id: int | None = None) -> None:
        self.company_id = company_id
        cap = MarketingCap.load()
        self.since = cap.since(now) if cap.on else None

    def select(self, *columns) -> Select:
        stmt = (
            select(*columns)
            .select_from(Case)
            .join(Customer, Customer.id == Case.customer_id)
            .outerjoin(Company, Company.id == Case.company_id)
        )
        return open_overdue(REACH.join(stmt), self.company_id)

    @staticmethod
    def fresh() -> ColumnElement[bool]:
        """ReConnect has not contacted this episode."""
        return ~exists().where(ReconnectContact.case_id == Case.id)

    def too_recent(self) -> ColumnElement[bool]:
        """The customer had a marketing message inside the cap."""
        if self.since is None:
            return literal(False)
        return reach.recently_contacted(self.since)

    def usable(self) -> ColumnElement[bool]:
        """A channel of the company's preference can reach the customer."""
        return REACH.reachable(Company.channel_preference)

    def reachable(self) -> ColumnElement[bool]:
        """Reachable now: a usable channel and no marketing message inside the cap."""
        if self.since is None:
            return self.usable()
        return and_(self.usable(), ~self.too_recent())

    def unreachable(self) -> ColumnElement[bool]:
        if self.since is None:
            return ~self.usable()
        return or_(~self.usable(), self.too_recent())


def group_names(ids) -> dict[int, str]:
    stmt = select(ProductGroup.id, ProductGroup.name).where(ProductGroup.id.in_(list(ids)))
    return dict(db.session.execute(stmt).tuples().all())


@dataclass
class GroupRow:
    group_id: int
    name: str
    enabled: bool = False
    overdue: int = 0
    reachable: int = 0
    unreachable: int = 0
    first: int = 0
    followup: int = 0
    reconnected: int = 0
    revenue: Decimal = field(default_factory=lambda: Decimal("0.00"))


@dataclass
class Overview:
    groups: list[GroupRow]
    since: datetime

    @property
    def total(self) -> GroupRow:
        total = GroupRow(0, _("All product groups"))
        for row in self.groups:
            for name in ("overdue", "reachable", "unreachable", "first", "followup"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
            total.reconnected += row.reconnected
            total.revenue += row.revenue
        return total


def overview(company_id: int | None, now: datetime) -> Overview:
    """R1: per product group with overdue customers or contacts in the last 3 months."""
    since = results_since(now)
    query = Overdue(now, company_id)
    by_group = Case.product_group_id

    def counts(*where) -> dict[int, int]:
        stmt = query.select(by_group, func.count()).where(*where).group_by(by_group)
        return dict(db.session.execute(stmt).tuples().all())

    overdue_counts = counts()
    fresh = counts(query.fresh())
    reachable = counts(query.fresh(), query.reachable())
    overdue = [
        (gid, n, reachable.get(gid, 0), fresh.get(gid, 0) - reachable.get(gid, 0))
        for gid, n in overdue_counts.items()
    ]
    rc = ReconnectContact
    recent = or_(rc.first_sent_at >= since, rc.followup_at >= since, rc.reconnected_at >= since)
    contacts = db.session.execute(
        restrict_to_company(
            select(
                rc.product_group_id,
                func.sum(case((rc.first_sent_at >= since, 1), else_=0)),
                func.sum(case((rc.followup_at >= since, 1), else_=0)),
                func.sum(case((rc.reconnected_at >= since, 1), else_=0)),
                func.sum(case((rc.reconnected_at >= since, rc.reconnected_revenue), else_=0)),
            )
            .where(recent)
            .group_by(rc.product_group_id),
            rc.company_id,
            company_id,
        )
    ).all()
    ids = {r[0] for r in overdue} | {r[0] for r in contacts}
    names = group_names(ids)
    settings = group_settings(ids)
    rows = {gid: GroupRow(gid, names[gid], settings[gid].enabled) for gid in ids}
    for gid, total, ok_count, not_ok in overdue:
        row = rows[gid]
        row.overdue, row.reachable, row.unreachable = total, int(ok_count or 0), int(not_ok or 0)
    for gid, first, followup, reconnected, revenue in contacts:
        row = rows[gid]
        row.first, row.followup, row.reconnected = (
            int(first or 0),
            int(followup or 0),
            int(reconnected or 0),
        )
        row.revenue = Decimal(revenue or 0).quantize(Decimal("0.01"))
    ordered = sorted(rows.values(), key=lambda r: (-r.overdue, r.name))
    return Overview(ordered, since)


@dataclass
class TabRow:
    case_id: int
    customer_id: int
    number: str | None
    name: str
    email: str | None
    mobile: str | None
    company: str | None
    last_order_at: datetime | None
    expected_at: datetime | None
    revenue_at_risk: Decimal | None
    send: bool
    actual_at: datetime | None = None
    reasons: list[str] = field(default_factory=list)
    first_sent_at: datetime | None = None
    channels: str | None = None
    followup_at: datetime | None = None
    followup_skipped: str | None = None
    reconnected_revenue: Decimal | None = None

    @classmethod
    def of(cls, case_: Case, customer: Customer, company: str | None, send: bool, **more):
        """A row from the case and its customer; ``more`` fills the tab's own columns."""
        return cls(
            case_id=case_.id,
            customer_id=customer.id,
            number=customer.number,
            name=customer.display_name,
            email=customer.email,
            mobile=customer.mobile,
            company=company,
            last_order_at=case_.last_order_at,
            expected_at=case_.expected_next_order,
            revenue_at_risk=case_.revenue_at_risk,
            send=send,
            **more,
        )


@dataclass
class TabPage:
    tab: str
    rows: list[TabRow]
    total: int | None  # None: not counted (the overdue tabs; the overview has the counts)
    page: int
    pages: int


# The overdue tabs read the group's open cases in list order from the partial index, a
# chunk at a time, and keep those of the tab: page 1 reads one chunk, not the group.
CHUNK = 500


def tab_page(group_id: int, tab: str, company_id: int | None, page: int, now: datetime) -> TabPage:
    """One page of a tab (R2), highest revenue at risk first in the overdue tabs, newest
    first in the others."""
    if tab not in TABS:
        raise ValueError(f"unknown tab {tab!r}")
    page = max(page, 1)
    if tab in ("reachable", "unreachable"):
        ids, more = _overdue_ids(group_id, tab, company_id, page, now)
        rows = _overdue_rows(ids, Overdue(now))
        return TabPage(tab, rows, None, page, page + 1 if more else page)
    column = {
        "first": ReconnectContact.first_sent_at,
        "followup": ReconnectContact.followup_at,
        "reconnected": ReconnectContact.reconnected_at,
    }[tab]
    base = select(ReconnectContact.id).where(
        ReconnectContact.product_group_id == group_id, column >= results_since(now)
    )
    base = restrict_to_company(base, ReconnectContact.company_id, company_id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(page, pages)
    ids = db.session.scalars(
        base.order_by(column.desc(), ReconnectContact.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return TabPage(tab, _contact_rows(list(ids), now), total, page, pages)


def _overdue_ids(
    group_id: int, tab: str, company_id: int | None, page: int, now: datetime
) -> tuple[list[int], bool]:
    """The case ids of one page of an overdue tab, and whether another page follows."""
    in_order = open_overdue(select(Case.id), company_id).where(Case.product_group_id == group_id)
    in_order = in_order.order_by(Case.revenue_at_risk.desc().nulls_last(), Case.id)
    query = Overdue(now, company_id)
    wanted = query.reachable() if tab == "reachable" else query.unreachable()
    keep = query.select(Case.id).where(query.fresh(), wanted)
    skip, found, offset = (page - 1) * PAGE_SIZE, [], 0
    while len(found) < skip + PAGE_SIZE + 1:
        chunk = db.session.scalars(in_order.limit(CHUNK).offset(offset)).all()
        if not chunk:
            break
        kept = set(db.session.scalars(keep.where(Case.id.in_(chunk))))
        found.extend(i for i in chunk if i in kept)
        offset += CHUNK
    return found[skip : skip + PAGE_SIZE], len(found) > skip + PAGE_SIZE


def _overdue_rows(case_ids: list[int], query: Overdue) -> list[TabRow]:
    if not case_ids:
        return []
    stmt = query.select(
        Case,
        Customer,
        Company.name,
        Company.channel_preference,
        REACH.record(Channel.EMAIL),
        REACH.record(Channel.SMS),
        excluded(),
        query.too_recent(),
    ).where(Case.id.in_(case_ids))
    found = {}
    for row in db.session.execute(stmt):
        case_, customer, company, preference, email_dnc, sms_dnc, switched_off, recent = row
        plan = outbox.plan_channels(
            customer,
            preference or ChannelPreference.BOTH,
            records={Channel.EMAIL: email_dnc, Channel.SMS: sms_dnc},
        )
        reasons = [] if plan.channels else _reasons(plan.reasons)
        if recent:
            reasons.append(_("contacted too recently"))
        found[case_.id] = TabRow.of(case_, customer, company, not switched_off, reasons=reasons)
    return [found[i] for i in case_ids if i in found]


def _reasons(by_channel: dict[str, str]) -> list[str]:
    return [f"{CHANNEL_LABELS[Channel(c)]}: {r}" for c, r in sorted(by_channel.items())]


def _contact_rows(contact_ids: list[int], now: datetime) -> list[TabRow]:
    if not contact_ids:
        return []
    rc = ReconnectContact
    switched_off = exists().where(
        ReconnectExclusion.customer_id == rc.customer_id,
        ReconnectExclusion.product_group_id == rc.product_group_id,
    )
    stmt = (
        select(rc, Case, Customer, Company.name, switched_off)
        .join(Case, Case.id == rc.case_id)
        .join(Customer, Customer.id == rc.customer_id)
        .outerjoin(Company, Company.id == rc.company_id)
        .where(rc.id.in_(contact_ids))
    )
    found = {}
    for contact, case_, customer, company, is_excluded in db.session.execute(stmt):
        found[contact.id] = TabRow.of(
            case_,
            customer,
            company,
            not is_excluded,
            actual_at=contact.reconnected_at,
            first_sent_at=contact.first_sent_at,
            channels=", ".join(
                str(CHANNEL_LABELS.get(c, c)) for c in contact.first_channels.split(",") if c
            ),
            followup_at=contact.followup_at,
            followup_skipped=(
                str(FOLLOWUP_SKIP_LABELS.get(contact.followup_skipped, contact.followup_skipped))
                if contact.followup_skipped
                else None
            ),
            reconnected_revenue=contact.reconnected_revenue,
        )
    return [found[i] for i in contact_ids if i in found]

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
from ..messaging import consent, outbox, reach
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
from .settings import group_settings

PAGE_SIZE = 50
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


def open_overdue(company_id: int | None) -> list[ColumnElement[bool]]:
    where = [
        Case.kind == CaseKind.OVERDUE,
        Case.closed_at.is_(None),
        Case.product_group_id.is_not(None),
    ]
    if company_id is not None:
        where.append(Case.company_id == company_id)
    return where


def contacted() -> ColumnElement[bool]:
    return exists().where(ReconnectContact.case_id == Case.id)


def excluded() -> ColumnElement[bool]:
    return exists().where(
        ReconnectExclusion.customer_id == Case.customer_id,
        ReconnectExclusion.product_group_id == Case.product_group_id,
    )


def reachable_now(now: datetime) -> ColumnElement[bool]:
    """Reachable now: a usable channel and no marketing message within the cap."""
    cap = MarketingCap.load()
    if not cap.on:
        return reach.reachable(Company.channel_preference)
    return and_(
        reach.reachable(Company.channel_preference),
        ~reach.recently_contacted(cap.since(now)),
    )


def overdue_from(stmt: Select) -> Select:
    return (
        stmt.select_from(Case)
        .join(Customer, Customer.id == Case.customer_id)
        .outerjoin(Company, Company.id == Case.company_id)
    )


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
    ok = reachable_now(now)
    fresh = ~contacted()
    overdue = db.session.execute(
        overdue_from(
            select(
                Case.product_group_id,
                func.count(),
                func.sum(case((and_(fresh, ok), 1), else_=0)),
                func.sum(case((and_(fresh, ~ok), 1), else_=0)),
            )
        )
        .where(*open_overdue(company_id))
        .group_by(Case.product_group_id)
    ).all()
    rc = ReconnectContact
    recent = [or_(rc.first_sent_at >= since, rc.followup_at >= since, rc.reconnected_at >= since)]
    if company_id is not None:
        recent.append(rc.company_id == company_id)
    contacts = db.session.execute(
        select(
            rc.product_group_id,
            func.sum(case((rc.first_sent_at >= since, 1), else_=0)),
            func.sum(case((rc.followup_at >= since, 1), else_=0)),
            func.sum(case((rc.reconnected_at >= since, 1), else_=0)),
            func.sum(case((rc.reconnected_at >= since, rc.reconnected_revenue), else_=0)),
        )
        .where(*recent)
        .group_by(rc.product_group_id)
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
    actual_at: datetime | None
    revenue_at_risk: Decimal | None
    send: bool
    reasons: list[str] = field(default_factory=list)
    first_sent_at: datetime | None = None
    channels: str | None = None
    followup_at: datetime | None = None
    followup_skipped: str | None = None
    reconnected_revenue: Decimal | None = None


@dataclass
class TabPage:
    tab: str
    rows: list[TabRow]
    total: int
    page: int
    pages: int


def tab_page(group_id: int, tab: str, company_id: int | None, page: int, now: datetime) -> TabPage:
    """One page of a tab (R2), highest revenue at risk first in the overdue tabs, newest
    first in the others."""
    if tab not in TABS:
        raise ValueError(f"unknown tab {tab!r}")
    if tab in ("reachable", "unreachable"):
        where = [*open_overdue(company_id), Case.product_group_id == group_id, ~contacted()]
        ok = reachable_now(now)
        where.append(ok if tab == "reachable" else ~ok)
        order = [Case.revenue_at_risk.desc().nulls_last(), Case.id]
        base = overdue_from(select(Case.id)).where(*where)
        fill = _overdue_rows
    else:
        column = {
            "first": ReconnectContact.first_sent_at,
            "followup": ReconnectContact.followup_at,
            "reconnected": ReconnectContact.reconnected_at,
        }[tab]
        where = [
            ReconnectContact.product_group_id == group_id,
            column >= results_since(now),
        ]
        if company_id is not None:
            where.append(ReconnectContact.company_id == company_id)
        order = [column.desc(), ReconnectContact.id.desc()]
        base = select(ReconnectContact.id).where(*where)
        fill = _contact_rows
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(page, 1), pages)
    ids = db.session.scalars(
        base.order_by(*order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return TabPage(tab, fill(list(ids), now), total, page, pages)


def _overdue_rows(case_ids: list[int], now: datetime) -> list[TabRow]:
    if not case_ids:
        return []
    cap = MarketingCap.load()
    stmt = overdue_from(
        select(
            Case,
            Customer,
            Company.name,
            Company.channel_preference,
            *(consent.record_subquery(Case.customer_id, c) for c in (Channel.EMAIL, Channel.SMS)),
            excluded(),
            reach.recently_contacted(cap.since(now)) if cap.on else literal(False),
        )
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
        found[case_.id] = TabRow(
            case_id=case_.id,
            customer_id=customer.id,
            number=customer.number,
            name=customer.display_name,
            email=customer.email,
            mobile=customer.mobile,
            company=company,
            last_order_at=case_.last_order_at,
            expected_at=case_.expected_next_order,
            actual_at=None,
            revenue_at_risk=case_.revenue_at_risk,
            send=not switched_off,
            reasons=reasons,
        )
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
        found[contact.id] = TabRow(
            case_id=case_.id,
            customer_id=customer.id,
            number=customer.number,
            name=customer.display_name,
            email=customer.email,
            mobile=customer.mobile,
            company=company,
            last_order_at=case_.last_order_at,
            expected_at=case_.expected_next_order,
            actual_at=contact.reconnected_at,
            revenue_at_risk=case_.revenue_at_risk,
            send=not is_excluded,
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

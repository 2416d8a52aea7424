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
from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select, true

from ..extensions import db
from ..messaging import outbox, sms
from ..models import (
    Case,
    Company,
    Customer,
    ProductGroup,
    ReconnectContact,
    ReconnectExclusion,
    business_tz,
)
from ..models.customer import display_name
from ..models.message import CHANNEL_LABELS, Channel, ChannelPreference
from ..models.reconnect import FOLLOWUP_SKIP_LABELS
from ..models.user import restrict_to_company
from . import tally
from .overdue import REACH, Overdue, excluded, open_overdue
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
    overdue = [
        (gid, c.overdue, c.reachable, c.fresh - c.reachable)
        for gid, c in tally.per_group(now, company_id).items()
        if c.overdue
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


@dataclass
class TabPage:
    tab: str
    rows: list[TabRow]
    total: int | None  # None: not counted (the overdue tabs; the overview has the counts)
    page: int
    pages: int
    next_after: int | None = None  # the overdue tabs' links: the case ending this page
    prev_before: int | None = None


# The overdue tabs read the group's open cases in list order from the partial index, a
# chunk at a time, and keep those of the tab: page 1 reads one chunk, not the group.
# "Next" and "previous" carry the case that ends the page (``after`` / ``before``), so a
# deep page starts there instead of reading every chunk before it.
CHUNK = 500


def tab_page(
    group_id: int,
    tab: str,
    company_id: int | None,
    page: int,
    now: datetime,
    after: int | None = None,
    before: int | None = None,
) -> TabPage:
    """One page of a tab (R2), highest revenue at risk first in the overdue tabs, newest
    first in the others. ``after`` / ``before``: the overdue tabs' page follows / precedes
    that case (the links of the page before); otherwise ``page`` counts from the top."""
    if tab not in TABS:
        raise ValueError(f"unknown tab {tab!r}")
    page = max(page, 1)
    if tab in ("reachable", "unreachable"):
        return _overdue_page(group_id, tab, company_id, page, now, after, before)
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


def _overdue_page(group_id, tab, company_id, page, now, after, before) -> TabPage:
    in_group = open_overdue(select(Case.id, Case.revenue_at_risk), company_id).where(
        Case.product_group_id == group_id
    )
    query = Overdue(now, company_id)
    wanted = query.reachable() if tab == "reachable" else query.unreachable()
    keep = query.select(*_overdue_columns(query, tab)).where(query.fresh(), wanted)
    cursor = after if after is not None else before
    key = _key(in_group, cursor) if cursor is not None and page > 1 else None

    def kept(forward: bool, want: int) -> list:
        """The tab's rows from ``key`` on, in list order: from each chunk of the group
        those of the tab, with their columns, in one statement, put in order here (an
        ORDER BY … LIMIT made PostgreSQL plan the eight-table join for 25 ms instead
        of 8–12 ms; measured 15 ms of database CPU per page against 22 ms)."""
        found: list = []
        for chunk_stmt in _walk(in_group, key, forward):
            # The chunk as a sub-query, not 500 ids as parameters: the statement stays
            # short, so psycopg parses it once per process, not per request (20 ms).
            rows = db.session.execute(keep.where(Case.id.in_(chunk_stmt))).all()
            found.extend(sorted(rows, key=_position, reverse=not forward))
            if len(found) >= want:
                break
        return found

    if key is not None and before is not None and after is None:
        found = kept(False, PAGE_SIZE)[:PAGE_SIZE][::-1]
        page = page if len(found) == PAGE_SIZE else 1  # fewer: the top of the list
        more = True
    elif key is not None:
        found = kept(True, PAGE_SIZE + 1)
        found, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    else:  # from the top (page 1, or a page number typed without its link)
        skip = (page - 1) * PAGE_SIZE
        found = kept(True, skip + PAGE_SIZE + 1)
        found, more = found[skip : skip + PAGE_SIZE], len(found) > skip + PAGE_SIZE
    rows = _overdue_rows(found, tab)
    data = TabPage(tab, rows, None, page, page + 1 if more else page)
    if rows:
        data.next_after = rows[-1].case_id if more else None
        data.prev_before = rows[0].case_id if page > 2 else None
    return data


def _key(in_group: Select, case_id: int) -> tuple[Decimal | None, int] | None:
    """The list position of ``case_id`` (its revenue at risk and id), if in the group."""
    found = db.session.execute(
        in_group.with_only_columns(Case.revenue_at_risk).where(Case.id == case_id)
    ).first()
    return None if found is None else (found[0], case_id)


def _beyond(key: tuple[Decimal | None, int], forward: bool) -> list[ColumnElement[bool]]:
    """The cases after ``key`` in list order (revenue at risk ↓ with NULL last, id ↑),
    or before it when not ``forward``: each a range of the index, walked in turn."""
    revenue, case_id = key
    column, ids = Case.revenue_at_risk, Case.id
    if forward:
        if revenue is None:
            return [and_(column.is_(None), ids > case_id)]
        return [and_(column <= revenue, or_(column < revenue, ids > case_id)), column.is_(None)]
    if revenue is None:
        return [and_(column.is_(None), ids < case_id), column.is_not(None)]
    return [and_(column >= revenue, or_(column > revenue, ids < case_id))]


def _position(row) -> tuple:
    """A row's place in list order (revenue at risk ↓ with NULL last, id ↑)."""
    revenue = row[11]
    return (revenue is None, -(revenue or 0), row[0])


def _order(forward: bool) -> tuple:
    """List order (revenue at risk ↓ with NULL last, id ↑), or its reverse."""
    column = Case.revenue_at_risk
    if forward:
        return column.desc().nulls_last(), Case.id
    return column.nulls_first(), Case.id.desc()


def _walk(in_group: Select, key, forward: bool):
    """Statements of chunks of the group's case ids in list order (reversed when not
    ``forward``) from ``key`` on (None: from the top). The end of a chunk is read only
    when the caller asks for the next one."""
    ranges = [true()] if key is None else _beyond(key, forward)
    while ranges:
        chunk = in_group.where(ranges[0]).order_by(*_order(forward))
        yield chunk.with_only_columns(Case.id).limit(CHUNK)
        last = db.session.execute(chunk.offset(CHUNK - 1).limit(1)).first()
        # A chunk that ends early ends its range: go on with the next one.
        ranges = _beyond((last[1], last[0]), forward) if last else ranges[1:]


# The columns of a row, read as plain values (no ORM objects: 50 rows a page).
_ROW = (
    Case.id,
    Case.customer_id,
    Customer.number,
    Customer.first_name,
    Customer.last_name,
    Customer.company_name,
    Customer.email,
    Customer.mobile,
    Company.name,
    Case.last_order_at,
    Case.expected_next_order,
    Case.revenue_at_risk,
)


def _row(values, send: bool, **more) -> TabRow:
    """A row from the ``_ROW`` columns; ``more`` fills the tab's own columns."""
    case_id, customer_id, number, first, last, firm, email, mobile, company = values[:9]
    return TabRow(
        case_id=case_id,
        customer_id=customer_id,
        number=number,
        name=display_name(first, last, firm, number, customer_id),
        email=email,
        mobile=mobile,
        company=company,
        last_order_at=values[9],
        expected_at=values[10],
        revenue_at_risk=values[11],
        send=send,
        **more,
    )


@dataclass(frozen=True)
class _Reachability:
    """What ``outbox.plan_channels`` reads of a customer, as a key for the page's memo."""

    email: str | None
    mobile: str | None
    country: str | None
    marketing_consent: bool | None


def _overdue_columns(query: Overdue, tab: str) -> tuple:
    """A row's columns in an overdue tab: ``_ROW``, the send switch, and in the
    "not reachable" tab (the only one that shows the reasons) what they are made of."""
    columns = (*_ROW, excluded())
    if tab != "unreachable":
        return columns
    return (
        *columns,
        Customer.country,
        Customer.marketing_consent,
        Company.channel_preference,
        REACH.record(Channel.EMAIL),
        REACH.record(Channel.SMS),
        query.too_recent(),
    )


def _overdue_rows(found: list, tab: str) -> list[TabRow]:
    """Rows of ``_overdue_columns``; the reasons decided once per kind of customer."""
    plans: dict[tuple, list[str]] = {}
    recent_text = _("contacted too recently")
    rows = []
    n = len(_ROW)
    for values in found:
        reasons: list[str] = []
        if tab == "unreachable":
            country, consent, preference, email_dnc, sms_dnc, recent = values[n + 1 :]
            who = _Reachability(values[6] or None, values[7] or None, country, consent)
            key = (_kind(who, preference, sms_dnc), preference, email_dnc, sms_dnc)
            if key not in plans:
                plans[key] = _plan_reasons(who, preference, email_dnc, sms_dnc)
            reasons = list(plans[key])
            if recent:
                reasons.append(recent_text)
        rows.append(_row(values, not values[n], reasons=reasons))
    return rows


def _kind(who: _Reachability, preference, sms_dnc) -> tuple:
    """What the reasons of ``who`` depend on: whether there is an email address and a
    mobile number, the consent – and the number itself only where its validity is
    checked (SMS wanted, nothing else refuses it) and it is not valid: only then is
    it part of the reason's words. So most rows of a page share a few kinds."""
    mobile: object = who.mobile is not None
    checked = (
        mobile
        and preference != ChannelPreference.EMAIL
        and not sms_dnc
        and who.marketing_consent is not False
    )
    if checked and not sms.normalise_phone(who.mobile, who.country or "DE", mobile_only=True):
        mobile = (who.mobile, who.country)
    return bool(who.email), mobile, who.marketing_consent


def _plan_reasons(who: _Reachability, preference, email_dnc, sms_dnc) -> list[str]:
    """The reasons in words why no channel of the preference reaches ``who`` (none when
    one does): the decision every send makes."""
    plan = outbox.plan_channels(
        who,
        preference or ChannelPreference.BOTH,
        records={Channel.EMAIL: email_dnc, Channel.SMS: sms_dnc},
    )
    if plan.channels:
        return []
    return [f"{CHANNEL_LABELS[Channel(c)]}: {r}" for c, r in sorted(plan.reasons.items())]


def _contact_rows(contact_ids: list[int], now: datetime) -> list[TabRow]:
    if not contact_ids:
        return []
    rc = ReconnectContact
    switched_off = exists().where(
        ReconnectExclusion.customer_id == rc.customer_id,
        ReconnectExclusion.product_group_id == rc.product_group_id,
    )
    stmt = (
        select(
            *_ROW,
            switched_off,
            rc.id,
            rc.reconnected_at,
            rc.first_sent_at,
            rc.first_channels,
            rc.followup_at,
            rc.followup_skipped,
            rc.reconnected_revenue,
        )
        .select_from(rc)
        .join(Case, Case.id == rc.case_id)
        .join(Customer, Customer.id == rc.customer_id)
        .outerjoin(Company, Company.id == rc.company_id)
        .where(rc.id.in_(contact_ids))
    )
    labels: dict[str, str] = {}  # each code translated once per page

    def label(names: dict, code: str) -> str:
        if code not in labels:
            labels[code] = str(names.get(code, code))
        return labels[code]

    found = {}
    n = len(_ROW)
    for values in db.session.execute(stmt):
        (
            is_excluded,
            contact_id,
            reconnected_at,
            sent_at,
            channels,
            followup_at,
            skipped,
            revenue,
        ) = values[n:]
        found[contact_id] = _row(
            values,
            not is_excluded,
            actual_at=reconnected_at,
            first_sent_at=sent_at,
            channels=", ".join(label(CHANNEL_LABELS, c) for c in channels.split(",") if c),
            followup_at=followup_at,
            followup_skipped=label(FOLLOWUP_SKIP_LABELS, skipped) if skipped else None,
            reconnected_revenue=revenue,
        )
    return [found[i] for i in contact_ids if i in found]

"""A group's member list (G3): since when, source, newsletter state; filters, sort,
pages, and the CSV export in the queue export's format (cases/export.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from sqlalchemy import ColumnElement, ScalarSelect, Select, String, cast, func, literal, or_, select

from ..cases.export import CellFormat, neutralise
from ..cases.lists import customer_matches, toggled_sort, url_args
from ..extensions import db
from ..models import Case, ContactGroup, Customer, GroupMember, NewsletterSubscription, User
from ..models.customer import display_name
from ..models.group import MEMBER_SOURCE_LABELS, SUBSCRIPTION_STATUS_LABELS
from ..models.types import whole_number
from .members import visible_customers

STATES = ("pending", "confirmed", "unsubscribed", "none")
SORTS = {
    "name": func.lower(
        func.coalesce(Customer.last_name, Customer.company_name, Customer.number, "")
    ),
    "number": Customer.number,
    "since": GroupMember.added_at,
    "source": GroupMember.source,
}
DEFAULT_SORT = "-since"


@dataclass
class MemberQuery:
    source: str | None = None
    state: str | None = None
    q: str | None = None
    sort: str = DEFAULT_SORT
    page: int = 1

    @classmethod
    def from_args(cls, args) -> MemberQuery:
        sort = args.get("sort", DEFAULT_SORT)
        try:
            page = whole_number(args.get("page")) or 1
        except ValueError:
            page = 1
        return cls(
            source=args.get("source") if args.get("source") in MEMBER_SOURCE_LABELS else None,
            state=args.get("state") if args.get("state") in STATES else None,
            q=(args.get("q") or "").strip()[:200] or None,
            sort=sort if sort.lstrip("-") in SORTS else DEFAULT_SORT,
            page=max(page, 1),
        )

    def args(self, **changes) -> dict[str, str | int]:
        values = {
            "source": self.source,
            "state": self.state,
            "q": self.q,
            "sort": self.sort,
            "page": self.page,
        }
        return url_args(values, changes)

    def toggled(self, key: str) -> str:
        return toggled_sort(self.sort, key, key != "since")


@dataclass(frozen=True)
class MemberRow:
    customer_id: int
    number: str | None
    first_name: str | None
    last_name: str | None
    company_name: str | None
    email: str | None
    added_at: datetime
    source: str
    status: str | None
    signed_up_at: datetime | None
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    # The case page the member's name links to (the page's rows only; the export has none).
    case_id: int | None = None

    @property
    def name(self) -> str:
        return display_name(
            self.first_name, self.last_name, self.company_name, self.number, self.customer_id
        )


def _search(q: str) -> ColumnElement[bool]:
    """Number, name or email contain ``q`` (as the queue's search), or the customer id is ``q``."""
    return or_(customer_matches(f"%{q.lower()}%"), cast(Customer.id, String) == q)


def _statement(group: ContactGroup, query: MemberQuery, user: User) -> Select:
    newsletter_id = group.newsletter.id if group.newsletter else None
    subscription = (
        NewsletterSubscription.status,
        NewsletterSubscription.signed_up_at,
        NewsletterSubscription.confirmed_at,
        NewsletterSubscription.unsubscribed_at,
    )
    stmt = (
        select(
            Customer.id,
            Customer.number,
            Customer.first_name,
            Customer.last_name,
            Customer.company_name,
            Customer.email,
            GroupMember.added_at,
            GroupMember.source,
            *(subscription if newsletter_id else (literal(None),) * 4),
        )
        .join(Customer, Customer.id == GroupMember.customer_id)
        .where(GroupMember.group_id == group.id, visible_customers(user))
    )
    if newsletter_id:
        stmt = stmt.outerjoin(
            NewsletterSubscription,
            (NewsletterSubscription.newsletter_id == newsletter_id)
            & (NewsletterSubscription.customer_id == Customer.id),
        )
    if query.source:
        stmt = stmt.where(GroupMember.source == query.source)
    if query.state == "none":
        if newsletter_id:
            stmt = stmt.where(NewsletterSubscription.id.is_(None))
    elif query.state:
        if not newsletter_id:
            return stmt.where(literal(False))
        stmt = stmt.where(NewsletterSubscription.status == query.state)
    if query.q:
        stmt = stmt.where(_search(query.q))
    return stmt


def _ordered(group: ContactGroup, query: MemberQuery, user: User) -> Select:
    column = SORTS[query.sort.lstrip("-")]
    direction = column.desc() if query.sort.startswith("-") else column.asc()
    return _statement(group, query, user).order_by(direction.nulls_last(), Customer.id)


def _case_of(user: User) -> ScalarSelect[int]:
    """The member's case the user may open: an open one first, else the latest; NULL for a
    customer without a case (a sign-up contact, a customer never flagged)."""
    cases = user.restrict(select(Case.id).where(Case.customer_id == Customer.id), Case.company_id)
    newest = (Case.closed_at.is_(None).desc(), Case.opened_at.desc(), Case.id.desc())
    return cases.order_by(*newest).limit(1).scalar_subquery()


def member_page(
    group: ContactGroup, query: MemberQuery, user: User, size: int
) -> tuple[list[MemberRow], int]:
    """One page of members (with the case each links to) and how many match the filters."""
    stmt = _statement(group, query, user)
    total = int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    page = _ordered(group, query, user).limit(size).offset((query.page - 1) * size)
    rows = db.session.execute(page.add_columns(_case_of(user)))
    return [MemberRow(*row) for row in rows], total


HEADERS = {
    "de": [
        "Kundennummer", "Name", "Firma", "E-Mail", "Mitglied seit", "Herkunft",
        "Newsletter", "Angemeldet am", "Bestätigt am", "Abgemeldet am",
    ],
    "en": [
        "Customer number", "Name", "Company", "Email", "Member since", "Source",
        "Newsletter", "Signed up", "Confirmed", "Unsubscribed",
    ],
}  # fmt: skip


def export_rows(
    group: ContactGroup, query: MemberQuery, user: User, lang: str, tz: ZoneInfo
) -> Iterator[str]:
    """The filtered members as CSV text, in the queue export's format (BOM, ``;`` and
    ``dd.mm.yyyy`` in German; ``,`` and ISO dates in English), streamed in chunks.

    The statement is built now, while the group is loaded; the rows are read as the
    response is sent."""
    return _csv(_ordered(group, query, user), lang, tz)


def _csv(stmt: Select, lang: str, tz: ZoneInfo) -> Iterator[str]:
    fmt = CellFormat(lang, tz)
    with force_locale(lang):
        sources = {k: str(v) for k, v in MEMBER_SOURCE_LABELS.items()}
        states = {k: str(v) for k, v in SUBSCRIPTION_STATUS_LABELS.items()}
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if fmt.german else ",", lineterminator="\r\n")
    writer.writerow(HEADERS[lang])
    yield "\ufeff" + buffer.getvalue()
    result = db.session.execute(stmt.execution_options(yield_per=1000))
    for partition in result.partitions():
        buffer.seek(0)
        buffer.truncate()
        for raw in partition:
            row = MemberRow(*raw)
            cells = (
                row.number or "",
                row.name,
                row.company_name or "",
                row.email or "",
                fmt.day(row.added_at),
                sources.get(row.source, row.source),
                states.get(row.status, "") if row.status else "",
                fmt.day(row.signed_up_at),
                fmt.day(row.confirmed_at),
                fmt.day(row.unsubscribed_at),
            )
            writer.writerow([neutralise(c) for c in cells])
        yield buffer.getvalue()

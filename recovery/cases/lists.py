"""The queue's tiles and lists: one query builder serves pages, counts and exports."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased, contains_eager
from werkzeug.exceptions import BadRequest

from ..extensions import db
from ..models import (
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    CaseTally,
    Company,
    ContactGroup,
    Customer,
    GroupMember,
    ProductGroup,
    User,
    utcnow,
)
from ..models.customer import display_name
from ..models.types import UTCDateTime, whole_number
from ..models.user import restrict_to_company

# Tile key -> (statuses, only reminders that are due)
LISTS: dict[str, tuple[tuple[CaseStatus, ...], bool]] = {
    "decline": ((CaseStatus.NEW,), False),
    "reminders": ((CaseStatus.REMINDER,), True),
    "contacted": ((CaseStatus.CONTACTED,), False),
    "offer": ((CaseStatus.OFFER_REQUESTED,), False),
    "no_interest": ((CaseStatus.NO_INTEREST,), False),
    "recovered": ((CaseStatus.RECOVERED,), False),
}

SORTS = {
    # the customer's number, name (surname, else company name) and group, as the case
    # copies them (models/copies.py) into the list sort indexes
    "number": Case.customer_number,
    "name": Case.sort_name,
    "company": Company.name,
    "customer_group": Case.customer_group,
    "last_order": Case.last_order_at,
    "reference_revenue": Case.reference_revenue,
    "current_revenue": Case.current_revenue,
    "decline_pct": Case.decline_pct,
    "revenue_at_risk": Case.revenue_at_risk,
    "status": Case.status,
    "assigned": Case.assigned_user_id,
    "remind_at": Case.remind_at,
    "recovered_revenue": Case.recovered_revenue,
}
DEFAULT_SORT = "-revenue_at_risk"
# Text columns sort A–Z on the first click, numbers and dates highest/latest first.
TEXT_SORTS = {"number", "name", "company", "customer_group", "status", "assigned"}


@dataclass
class ListQuery:
    """A list as the URL describes it: tile, sort, filters, page."""

    tile: str = "decline"
    sort: str = DEFAULT_SORT
    company: int | None = None
    customer_group: str | None = None
    product_group: int | None = None
    assigned: int | None = None
    group: int | None = None  # the merchant's own group (ContactGroup)
    q: str | None = None
    page: int = 1
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, tile: str, args) -> ListQuery:
        def as_int(name: str) -> int | None:
            try:
                return whole_number(args.get(name))
            except ValueError:
                raise BadRequest(_("The value of '%(name)s' is too large.", name=name)) from None

        sort = args.get("sort", DEFAULT_SORT)
        if sort.lstrip("-") not in SORTS:
            sort = DEFAULT_SORT
        return cls(
            tile=tile if tile in LISTS else "decline",
            sort=sort,
            company=as_int("company"),
            customer_group=args.get("customer_group") or None,
            product_group=as_int("product_group"),
            assigned=as_int("assigned"),
            group=as_int("group"),
            q=(args.get("q") or "").strip() or None,
            page=max(as_int("page") or 1, 1),
        )

    def toggled(self, key: str) -> str:
        """The sort a click on column ``key`` asks for."""
        return toggled_sort(self.sort, key, key in TEXT_SORTS)

    def args(self, **changes) -> dict[str, str | int]:
        """URL arguments of this list (for links, export, next customer)."""
        values = {
            "sort": self.sort,
            "company": self.company,
            "customer_group": self.customer_group,
            "product_group": self.product_group,
            "assigned": self.assigned,
            "group": self.group,
            "q": self.q,
            "page": self.page,
        }
        return url_args(values, changes)


def toggled_sort(sort: str, key: str, ascending_first: bool) -> str:
    """The sort a click on column ``key`` asks for when the list is sorted by ``sort``:
    the other direction of the same column, else the column's first direction."""
    if sort.lstrip("-") == key:
        return key if sort.startswith("-") else "-" + key
    return key if ascending_first else "-" + key


def url_args(values: dict, changes: dict) -> dict[str, str | int]:
    """A list's URL arguments with ``changes``: the empty ones and page 1 left out."""
    values = {**values, **changes}
    if values.get("page") == 1:
        del values["page"]
    return {k: v for k, v in values.items() if v not in (None, "")}


def visible_cases(user: User) -> Select:
    """Cases the user may see: a user restricted to a company sees only its cases."""
    return user.restrict(select(Case).where(Case.kind == CaseKind.DECLINE), Case.company_id)


def _conditions(query: ListQuery, user: User, now: datetime, join_customer: bool) -> Select:
    """The list's cases; joined to their customer only if asked (filters on it need it)."""
    statuses, due_only = LISTS[query.tile]
    stmt = visible_cases(user)
    if join_customer:
        stmt = stmt.join(Case.customer)
    stmt = stmt.where(Case.status.in_(statuses))
    if due_only:
        stmt = stmt.where(Case.remind_at <= now)
    if query.company:
        stmt = stmt.where(Case.company_id == query.company)
    if query.customer_group:
        stmt = stmt.where(Case.customer_group == query.customer_group)
    if query.product_group:
        stmt = stmt.where(Case.product_group_id == query.product_group)
    if query.assigned:
        stmt = stmt.where(Case.assigned_user_id == query.assigned)
    if query.group:
        members = select(GroupMember.customer_id).where(GroupMember.group_id == query.group)
        stmt = stmt.where(Case.customer_id.in_(members))
    if query.q:
        stmt = stmt.where(_search(query.q))
    return stmt


def _filtered(query: ListQuery, user: User, now: datetime) -> Select:
    return _conditions(query, user, now, join_customer=True).outerjoin(Case.company)


def _plain(q: str) -> bool:
    """No LIKE wildcard, escape or line break: the case's search text answers alone."""
    return not re.search(r"[%_\\\n]", q)


def _search(q: str) -> ColumnElement[bool]:
    """Number, name (first, last and company name joined by blanks) or email contain
    ``q``, case-insensitive; ``%`` and ``_`` in ``q`` work as LIKE wildcards.

    The case's ``search_text`` (models/copies.py) holds the three, lower-cased, one per
    line, and the trigram index ix_recovery_case_search looks in it among the cases,
    not the 1 000 000 customers. A plain ``q`` (no wildcard, escape or line break) can
    only match inside one line, so the copy answers exactly. Otherwise q's longest plain
    run is looked up there, and the test on the customer's own columns decides.
    """
    like = f"%{q.lower()}%"
    if _plain(q):
        return Case.search_text.like(like)
    exact = customer_matches(like)
    token = max(re.split(r"[\s%_\\]+", q.lower()), key=len)
    if len(token) < 3:  # trigrams need three characters
        return exact
    return and_(Case.search_text.like(f"%{token}%"), exact)


def customer_matches(like: str) -> ColumnElement[bool]:
    """The customer's number, name (first, last and company name joined by blanks) or
    email, lower-cased, is LIKE ``like``."""
    name = func.lower(
        func.coalesce(Customer.first_name, "")
        + " "
        + func.coalesce(Customer.last_name, "")
        + " "
        + func.coalesce(Customer.company_name, "")
    )
    return or_(
        func.lower(Customer.number).like(like),
        name.like(like),
        func.lower(Customer.email).like(like),
    )


def _sort(query: ListQuery, column=None, id_column=Case.id) -> tuple:
    """The list's ORDER BY: the sort's column (or ``column`` holding its value), NULLs
    last in both directions, then the case id."""
    if column is None:
        column = SORTS[query.sort.lstrip("-")]
    direction = column.desc() if query.sort.startswith("-") else column.asc()
    return direction.nulls_last(), id_column


def ordered(query: ListQuery, user: User, now: datetime | None = None) -> Select:
    """The filtered list in its sort order, with customer and company loaded."""
    now = now or utcnow()
    return (
        _filtered(query, user, now)
        .options(contains_eager(Case.customer), contains_eager(Case.company))
        .order_by(*_sort(query))
    )


def ordered_rows(query: ListQuery, user: User, *columns) -> Select:
    """The filtered list in its sort order as plain rows of ``columns`` (no ORM objects)."""
    return _filtered(query, user, utcnow()).with_only_columns(*columns).order_by(*_sort(query))


def _tallied(query: ListQuery, user: User) -> Select | None:
    """The list's count from the case tally (kept exact by triggers, see CaseTally), for
    a list of a status, of all companies or one; None for lists it cannot count."""
    statuses, due_only = LISTS[query.tile]
    if (
        due_only
        or query.customer_group
        or query.product_group
        or query.assigned
        or query.group
        or query.q
    ):
        return None
    stmt = select(func.coalesce(func.sum(CaseTally.cases), 0)).where(
        CaseTally.kind == CaseKind.DECLINE, CaseTally.status.in_(statuses)
    )
    stmt = user.restrict(stmt, CaseTally.company_id)
    if query.company is not None:
        stmt = stmt.where(CaseTally.company_id == query.company)
    return stmt


def count(query: ListQuery, user: User, now: datetime) -> int:
    """Exact number of cases in the list.

    A list of a status, for all companies or one, is read from the case tally. With
    other filters the cases are counted: every case has its customer (a non-null foreign
    key) and at most one company, so the joins change no count; the cases are counted
    alone, from an index, unless a search with wildcards tests the customer's columns.
    """
    tallied = _tallied(query, user)
    if tallied is not None:
        return int(db.session.scalar(tallied))
    stmt = _conditions(query, user, now, join_customer=bool(query.q and not _plain(query.q)))
    # count(*), not count(id): no column to read, so the narrow index answers alone
    return int(db.session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0)


# What a list row shows, read as plain rows: building ORM objects for 50 cases with
# their customers took six times as long as the query.
ROW_COLUMNS = (
    Case.id,
    Case.status,
    Case.last_order_at,
    Case.reference_revenue,
    Case.current_revenue,
    Case.decline_pct,
    Case.revenue_at_risk,
    Case.assigned_user_id,
    Case.remind_at,
    Customer.id.label("customer_id"),
    Customer.number,
    Customer.first_name,
    Customer.last_name,
    Customer.company_name,
    Customer.customer_group,
    Company.name.label("company"),
)


class ListRow(NamedTuple):
    id: int
    status: str
    last_order_at: datetime | None
    reference_revenue: Decimal | None
    current_revenue: Decimal | None
    decline_pct: float | None
    revenue_at_risk: Decimal | None
    assigned_user_id: int | None
    remind_at: datetime | None
    customer_id: int
    number: str | None
    first_name: str | None
    last_name: str | None
    company_name: str | None
    customer_group: str | None
    company: str | None

    @property
    def name(self) -> str:
        return display_name(
            self.first_name, self.last_name, self.company_name, self.number, self.customer_id
        )


# Sorts by a column of the case itself (not of its customer or company).
CASE_SORTS = frozenset(k for k, c in SORTS.items() if getattr(c, "table", None) is Case.__table__)


def _cases_alone(query: ListQuery) -> bool:
    """The list's filters and sort need only the case's own columns."""
    plain = query.q is None or _plain(query.q)
    return plain and query.sort.lstrip("-") in CASE_SORTS


def page(query: ListQuery, user: User, size: int) -> tuple[list[ListRow], int]:
    """One page of the list and the list's count, in one statement where it can be.

    A search finds its few matches once: counted (a window over all of them) while the
    page is cut from them – among the cases alone where the search and the sort need
    nothing of the customer, so only the page's rows are joined to their customers, not
    the hundreds a common name matches. A list the tally counts carries its count as a
    column. Past the last page no row carries the count, so it is asked for on its own.
    """
    now = utcnow()
    offset = (query.page - 1) * size
    tallied = _tallied(query, user)
    if query.q and _cases_alone(query):
        # The matches are read first, whole (MATERIALIZED): the planner cannot guess
        # how many a LIKE finds and might otherwise walk the sort's index through all
        # 200 000 cases, testing each, to fill a page it has to count to the end anyway.
        found = (
            _conditions(query, user, now, join_customer=False)
            .with_only_columns(Case.id, SORTS[query.sort.lstrip("-")].label("sort_value"))
            .cte("found")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        cut = (
            select(found.c.id, func.count().over().label("total"))
            .order_by(*_sort(query, found.c.sort_value, found.c.id))
            .limit(size)
            .offset(offset)
            .subquery()
        )
        stmt = (
            select(*ROW_COLUMNS, cut.c.total)
            .select_from(cut)
            .join(Case, Case.id == cut.c.id)
            .join(Case.customer)
            .outerjoin(Case.company)
            .order_by(*_sort(query))
        )
    else:
        window = (
            _filtered(query, user, now)
            .with_only_columns(*ROW_COLUMNS)
            .order_by(*_sort(query))
            .limit(size)
            .offset(offset)
        )
        if query.q:
            stmt = window.add_columns(func.count().over())
        elif tallied is not None:
            stmt = window.add_columns(tallied.scalar_subquery())
        else:
            rows = [ListRow(*row) for row in db.session.execute(window)]
            return rows, count(query, user, now)
    rows = db.session.execute(stmt).all()
    if rows:
        return [ListRow(*row[:-1]) for row in rows], int(rows[0][-1])
    return [], count(query, user, now)


@lru_cache(maxsize=2)
def _tiles_statement(restricted: bool) -> Select:
    """The tiles' statement, built once (per restricted or not) with bound parameters:
    the home page is opened all day, and building and keying a statement of seven
    subqueries costs more than running it."""
    company = bindparam("company", type_=Integer)
    tally = select(func.coalesce(func.sum(CaseTally.cases), 0)).where(
        CaseTally.kind == CaseKind.DECLINE
    )
    cases = select(Case).where(Case.kind == CaseKind.DECLINE)
    tally = restrict_to_company(tally, CaseTally.company_id, company if restricted else None)
    cases = restrict_to_company(cases, Case.company_id, company if restricted else None)
    columns = [
        (
            cases.with_only_columns(func.count()).where(
                Case.status.in_(statuses), Case.remind_at <= bindparam("now", type_=UTCDateTime)
            )
            if due_only
            else tally.where(CaseTally.status.in_(statuses))
        ).scalar_subquery()
        for statuses, due_only in LISTS.values()
    ]
    revenue = (
        cases.with_only_columns(func.coalesce(func.sum(Case.recovered_revenue), 0))
        .where(Case.status.in_(LISTS["recovered"][0]))
        .scalar_subquery()
    )
    return select(*columns, revenue)


def tile_counts(user: User) -> dict[str, dict[str, object]]:
    """Live counts per tile, and recovered revenue, in one statement.

    The counts of the statuses come from the case tally; only what needs more than the
    status is read from the cases, from an index alone: the reminders that are due
    (ix_recovery_case_tiles) and the recovered revenue (ix_recovery_case_tiles). What a
    user restricted to a company sees is the same as visible_cases(user).
    """
    stmt = _tiles_statement(user.company_id is not None)
    row = db.session.execute(stmt, {"company": user.company_id, "now": utcnow()}).one()
    tiles = {tile: {"count": int(row[i]), "revenue": None} for i, tile in enumerate(LISTS)}
    if tiles["recovered"]["count"]:
        tiles["recovered"]["revenue"] = row[-1]
    return tiles


def next_case(query: ListQuery, user: User, after_case: Case | None) -> Case | None:
    """The case after ``after_case`` in the same list, sort and filters, that nobody else holds.

    Keyset on (sort value, id): cases already passed stay behind even when they are
    still in the list (after a note, say); a case that left the list is no anchor
    problem because its sort value still places it.
    """
    now = utcnow()
    stmt = ordered(query, user, now).where(
        or_(
            Case.claimed_by_id.is_(None),
            Case.claimed_by_id == user.id,
            Case.claimed_until < now,
        )
    )
    if after_case is None:
        return _first(stmt)
    column = SORTS[query.sort.lstrip("-")]
    value = db.session.scalar(
        select(column)
        .select_from(Case)
        .join(Case.customer)
        .outerjoin(Case.company)
        .where(Case.id == after_case.id)
    )
    later_id = Case.id > after_case.id
    nulls = stmt.where(column.is_(None))
    if value is None:  # NULLs sort last in both directions
        return _first(nulls.where(later_id))
    # Rows with a value come first, then the NULLs: look in that order. The bound on
    # the column (not only the OR) lets an index on the sort start at the anchor.
    if query.sort.startswith("-"):
        valued = stmt.where(column <= value, or_(column < value, later_id))
    else:
        valued = stmt.where(column >= value, or_(column > value, later_id))
    return _first(valued) or _first(nulls)


def _first(stmt: Select) -> Case | None:
    return db.session.scalars(stmt.limit(1)).first()


class Choice(NamedTuple):
    id: int | None
    name: str


def filter_choices(user: User) -> dict[str, list]:
    """The list filters' drop-downs (companies, customer groups, product groups, users,
    the merchant's own groups).

    One statement for all four: a list page is viewed all day, and each statement costs
    a round trip. Customer groups are found by a loose index scan: each step asks
    ix_customer_group for the next group after the last one, so a handful of groups costs
    a handful of probes, not a read of every customer.
    """
    companies = user.restrict(
        select(literal("companies").label("kind"), Company.id, Company.name), Company.id
    )
    if user.company_id is None:
        group = Customer.customer_group
        found = select(select(func.min(group)).scalar_subquery().label("name")).cte(
            "found", recursive=True
        )
        following = select(func.min(group)).where(group > found.c.name).scalar_subquery()
        found = found.union_all(select(following).where(found.c.name.is_not(None)))
        customer_groups = select(literal("customer_groups"), null(), found.c.name).where(
            found.c.name.is_not(None)
        )
        product_groups = select(literal("product_groups"), ProductGroup.id, ProductGroup.name)
    else:
        # A restricted user is offered the groups of the cases they may see, nothing
        # that only another company's customers have.
        mine = visible_cases(user)
        seen = (
            mine.with_only_columns(Case.customer_group.label("name"))
            .where(Case.customer_group.is_not(None))
            .distinct()
            .subquery()
        )
        customer_groups = select(literal("customer_groups"), null(), seen.c.name)
        product_groups = select(
            literal("product_groups"), ProductGroup.id, ProductGroup.name
        ).where(ProductGroup.id.in_(mine.with_only_columns(Case.product_group_id)))
    stmt = union_all(
        companies,
        customer_groups,
        product_groups,
        select(literal("users"), User.id, User.name),
        select(literal("groups"), ContactGroup.id, ContactGroup.name),
        # the groups that take members: the list's "add to group"
        select(literal("active_groups"), ContactGroup.id, ContactGroup.name).where(
            ContactGroup.active
        ),
    ).order_by("kind", "name")
    choices: dict[str, list] = {
        "companies": [], "customer_groups": [], "product_groups": [], "users": [],
        "groups": [], "active_groups": [],
    }  # fmt: skip
    for kind, id_, name in db.session.execute(stmt):
        choices[kind].append(name if kind == "customer_groups" else Choice(id_, name))
    return choices


@dataclass(frozen=True, slots=True)
class ScheduledReminder:
    case_id: int
    remind_at: datetime
    number: str | None
    name: str
    company: str | None
    set_by: str | None  # who set the reminder (the latest "remind" in the history)


REMINDERS_SHOWN = 500


def scheduled_reminders(user: User, everyone: bool = False) -> list[ScheduledReminder]:
    """Open reminders, the due ones first, then by day (issue "a salesperson's day":
    set reminders were invisible until due). Mine: those I set; an admin may see
    everyone's. The company restriction applies as everywhere."""
    latest = (
        select(CaseEvent.case_id, func.max(CaseEvent.id).label("event_id"))
        .where(CaseEvent.kind == "remind")
        .group_by(CaseEvent.case_id)
        .subquery()
    )
    setter = aliased(User)
    stmt = (
        select(
            Case.id,
            Case.remind_at,
            Customer.number,
            Customer.first_name,
            Customer.last_name,
            Customer.company_name,
            Company.name,
            setter.name,
        )
        .join(Customer, Customer.id == Case.customer_id)
        .outerjoin(Company, Company.id == Case.company_id)
        .outerjoin(latest, latest.c.case_id == Case.id)
        .outerjoin(CaseEvent, CaseEvent.id == latest.c.event_id)
        .outerjoin(setter, setter.id == CaseEvent.user_id)
        .where(Case.status == CaseStatus.REMINDER, Case.remind_at.is_not(None))
        .order_by(Case.remind_at, Case.id)
        .limit(REMINDERS_SHOWN)
    )
    if not (everyone and user.is_admin):
        stmt = stmt.where(CaseEvent.user_id == user.id)
    stmt = user.restrict(stmt, Case.company_id)
    return [
        ScheduledReminder(
            case_id,
            remind_at,
            number,
            " ".join(p for p in (first, last) if p) or company_name or "",
            company,
            set_by,
        )
        for case_id, remind_at, number, first, last, company_name, company, set_by in (
            db.session.execute(stmt)
        )
    ]

"""The queue's tiles and lists: one query builder serves pages, counts and exports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import contains_eager

from ..extensions import db
from ..models import Case, Company, Customer, User, utcnow

# Tile key -> (statuses, only reminders that are due)
LISTS: dict[str, tuple[tuple[str, ...], bool]] = {
    "decline": (("new",), False),
    "reminders": (("reminder",), True),
    "contacted": (("contacted",), False),
    "offer": (("offer_requested",), False),
    "no_interest": (("no_interest",), False),
    "recovered": (("recovered",), False),
}

SORTS = {
    "number": Customer.number,
    "name": func.lower(func.coalesce(Customer.last_name, Customer.company_name, "")),
    "company": Company.name,
    "customer_group": Customer.customer_group,
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
    q: str | None = None
    page: int = 1
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, tile: str, args) -> ListQuery:
        def as_int(name: str) -> int | None:
            value = args.get(name, "")
            return int(value) if value.isdigit() else None

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
            q=(args.get("q") or "").strip() or None,
            page=max(as_int("page") or 1, 1),
        )

    def toggled(self, key: str) -> str:
        """The sort a click on column ``key`` asks for."""
        if self.sort.lstrip("-") == key:
            return key if self.sort.startswith("-") else "-" + key
        return key if key in TEXT_SORTS else "-" + key

    def args(self, **changes) -> dict[str, str | int]:
        """URL arguments of this list (for links, export, next customer)."""
        values = {
            "sort": self.sort,
            "company": self.company,
            "customer_group": self.customer_group,
            "product_group": self.product_group,
            "assigned": self.assigned,
            "q": self.q,
            "page": self.page,
        }
        values.update(changes)
        if values["page"] == 1:
            del values["page"]
        return {k: v for k, v in values.items() if v not in (None, "")}


def visible_cases(user: User) -> Select:
    """Cases the user may see: a user restricted to a company sees only its cases."""
    stmt = select(Case).where(Case.kind == "decline")
    if user.company_id is not None:
        stmt = stmt.where(Case.company_id == user.company_id)
    return stmt


def _filtered(query: ListQuery, user: User, now: datetime) -> Select:
    statuses, due_only = LISTS[query.tile]
    stmt = (
        visible_cases(user)
        .join(Case.customer)
        .outerjoin(Case.company)
        .where(Case.status.in_(statuses))
    )
    if due_only:
        stmt = stmt.where(Case.remind_at <= now)
    if query.company:
        stmt = stmt.where(Case.company_id == query.company)
    if query.customer_group:
        stmt = stmt.where(Customer.customer_group == query.customer_group)
    if query.product_group:
        stmt = stmt.where(Case.product_group_id == query.product_group)
    if query.assigned:
        stmt = stmt.where(Case.assigned_user_id == query.assigned)
    if query.q:
        like = f"%{query.q.lower()}%"
        name = func.lower(
            func.coalesce(Customer.first_name, "")
            + " "
            + func.coalesce(Customer.last_name, "")
            + " "
            + func.coalesce(Customer.company_name, "")
        )
        stmt = stmt.where(
            or_(
                func.lower(Customer.number).like(like),
                name.like(like),
                func.lower(Customer.email).like(like),
            )
        )
    return stmt


def ordered(query: ListQuery, user: User, now: datetime | None = None) -> Select:
    """The filtered list in its sort order, with customer and company loaded."""
    now = now or utcnow()
    column = SORTS[query.sort.lstrip("-")]
    direction = column.desc() if query.sort.startswith("-") else column.asc()
    return (
        _filtered(query, user, now)
        .options(contains_eager(Case.customer), contains_eager(Case.company))
        .order_by(direction.nulls_last(), Case.id)
    )


def page(query: ListQuery, user: User, size: int) -> tuple[list[Case], int]:
    now = utcnow()
    total = db.session.scalar(
        _filtered(query, user, now).with_only_columns(func.count(Case.id)).order_by(None)
    )
    rows = db.session.scalars(
        ordered(query, user, now).limit(size).offset((query.page - 1) * size)
    ).all()
    return list(rows), int(total or 0)


def tile_counts(user: User) -> dict[str, dict[str, object]]:
    """Live counts per tile, and recovered revenue, in one grouped query."""
    now = utcnow()
    base = visible_cases(user).subquery()
    stmt = select(
        base.c.status,
        func.count().filter(or_(base.c.status != "reminder", base.c.remind_at <= now)),
        func.coalesce(func.sum(base.c.recovered_revenue), 0),
    ).group_by(base.c.status)
    counts = {key: {"count": 0, "revenue": None} for key in LISTS}
    status_to_tile = {statuses[0]: key for key, (statuses, _) in LISTS.items()}
    for status, count, revenue in db.session.execute(stmt):
        tile = status_to_tile.get(status)
        if tile:
            counts[tile]["count"] = count
            if tile == "recovered":
                counts[tile]["revenue"] = revenue
    return counts


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
    if after_case is not None:
        stmt = stmt.where(_after(query, after_case))
    return db.session.scalars(stmt.limit(1)).first()


def _after(query: ListQuery, case: Case):
    """SQL condition: the row comes after ``case`` in the list's order."""
    column = SORTS[query.sort.lstrip("-")]
    value = db.session.scalar(
        select(column)
        .select_from(Case)
        .join(Case.customer)
        .outerjoin(Case.company)
        .where(Case.id == case.id)
    )
    later_id = Case.id > case.id
    if value is None:  # NULLs sort last in both directions
        return and_(column.is_(None), later_id)
    beyond = column < value if query.sort.startswith("-") else column > value
    return or_(beyond, and_(column == value, later_id), column.is_(None))

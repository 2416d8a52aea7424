"""What the rules need of the orders: per customer the net revenue of the last 12
months and the latest live order, the companies bought from, and per customer and
product group the latest live purchase.

Read directly, each rule over orders or lines would be a pass over the whole history
(10 000 000 lines in the benchmark) – per group. Instead:

* the facts that carry no clock (latest live order, companies, latest live purchase per
  product group) are kept in tables (``models/order_facts.py``); ``refresh_order_facts``
  brings them up to date before every evaluation and preview – only for the customers
  whose orders or customer row changed (``updated_at``) since the last refresh, all of
  them the first time;
* the revenue of the last 12 months moves with the clock: it is summed per evaluation
  round into a temporary table, from the orders of the last 365 days only.

Each group is then a join of small tables. The preview count uses the same tables, so
what it counts is what the evaluation adds.

When are the facts stale? Never when read: every evaluation and preview refreshes them
first. A refresh sees an order change by its ``updated_at`` (every sync writes it, and
the ORM's ``onupdate``) and looks at everything changed since ``MARGIN`` before the
start of the last refresh, so a sync transaction that wrote its ``updated_at`` before
and committed after that start is not missed (a transaction longer than ``MARGIN``
would be). Not seen: an order changed by hand in the database without
``updated_at``; ``refresh_order_facts(full=True)`` (``flask recovery group-facts
--full``) rebuilds everything. A deleted customer's facts go with it (the delete
trigger, models/group_cascade.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    Select,
    Table,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    union,
)

from ..extensions import db
from ..models import (
    CompanyOrderFact,
    Customer,
    CustomerOrderFact,
    LineOrderFact,
    Order,
    OrderFactStamp,
    OrderLine,
    utcnow,
)
from ..models.types import Money

# Orders and lines that count as revenue (docs/revenue.md).
DEAD_STATES = ("cancelled", "returned")
# How far before the start of the last refresh a refresh looks again: a sync batch's
# transaction that wrote its updated_at before and committed after that start (a batch
# takes seconds). The customers changed in that time are rebuilt once more.
MARGIN = timedelta(minutes=10)
# A refresh that finds more than this share of the customers changed rebuilds all.
FULL_SHARE = 0.3

_META = MetaData()
REVENUE = Table(
    "group_customer_revenue",
    _META,
    Column("customer_id", Integer, primary_key=True),
    Column("revenue", Money),  # live net revenue of the last 365 days
    prefixes=["TEMPORARY"],
)
CHANGED = Table(
    "order_fact_changed",
    _META,
    Column("customer_id", Integer, primary_key=True),
    prefixes=["TEMPORARY"],
)

# For the rest of the transaction (SET LOCAL). The sums group a million customers and
# join ten million lines to their orders: in the default 4 MB of work_mem they sort and
# spill to disk (bench/groups: 23 s instead of 10 s for the customers' sums alone). JIT
# compilation costs about a second per large statement and gains nothing on these plain
# aggregates.
POSTGRESQL_SETTINGS = ("SET LOCAL work_mem = '256MB'", "SET LOCAL jit = off")


def _live_order():
    return Order.state.not_in(DEAD_STATES)


def _postgresql_settings(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        for statement in POSTGRESQL_SETTINGS:
            connection.execute(text(statement))


# --- the kept facts ------------------------------------------------------------------


@dataclass(frozen=True)
class Refreshed:
    customers: int | None  # customers whose facts were rebuilt; None: all of them
    orders_until: datetime | None


def _fact_rows(only: Select | None) -> dict:
    """The SELECTs that fill each fact table, for the customers of ``only`` (all: None)."""

    def of(stmt, column):
        return stmt if only is None else stmt.where(column.in_(only))

    live_line = or_(OrderLine.state.is_(None), OrderLine.state.not_in(DEAD_STATES))
    return {
        CustomerOrderFact: of(
            select(Order.customer_id, func.max(Order.ordered_at))
            .where(_live_order())
            .group_by(Order.customer_id),
            Order.customer_id,
        ),
        CompanyOrderFact: of(
            select(Order.customer_id, Order.company_id)
            .where(Order.company_id.is_not(None))
            .distinct(),
            Order.customer_id,
        ),
        LineOrderFact: of(
            select(Order.customer_id, OrderLine.product_group_id, func.max(Order.ordered_at))
            .join(Order, Order.id == OrderLine.order_id)
            .where(_live_order(), live_line, OrderLine.product_group_id.is_not(None))
            .group_by(Order.customer_id, OrderLine.product_group_id),
            Order.customer_id,
        ),
    }


COLUMNS = {
    CustomerOrderFact: ["customer_id", "last_order_at"],
    CompanyOrderFact: ["customer_id", "company_id"],
    LineOrderFact: ["customer_id", "product_group_id", "last_at"],
}


# Rule types that read the kept facts.
KEPT = ("last_order", "company", "product_groups")


def needs_kept_facts(rule_lists: Iterable[list[dict] | None]) -> bool:
    return any(rule["type"] in KEPT for rules in rule_lists for rule in rules or [])


def _rebuild(connection: Connection, only: Select | None) -> None:
    """Delete and rebuild the kept facts of the customers of ``only`` (all: None); after
    a rebuild of all, the planner's statistics of the tables are renewed at once."""
    for model in COLUMNS:
        stmt = delete(model)
        db.session.execute(stmt if only is None else stmt.where(model.customer_id.in_(only)))
    for model, rows in _fact_rows(only).items():
        db.session.execute(insert(model).from_select(COLUMNS[model], rows))
        if only is None and connection.dialect.name == "postgresql":
            connection.execute(text(f"ANALYZE {model.__tablename__}"))


def _refresh_changed(connection: Connection, since: datetime) -> int | None:
    """Rebuild the facts of the customers changed after ``since``; their number, or
    None if they are more than ``FULL_SHARE`` of all customers (rebuilding all is
    cheaper then: after a full sync, say)."""
    CHANGED.drop(connection, checkfirst=True)
    CHANGED.create(connection)
    try:
        changed = union(
            select(Order.customer_id).where(Order.updated_at > since),
            select(Customer.id).where(Customer.updated_at > since),
        )
        connection.execute(insert(CHANGED).from_select(["customer_id"], changed))
        count = connection.scalar(select(func.count()).select_from(CHANGED)) or 0
        if count > FULL_SHARE * (connection.scalar(select(func.count(Customer.id))) or 0):
            return None
        if count:
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"ANALYZE {CHANGED.name}"))
            _rebuild(connection, select(CHANGED.c.customer_id))
        return count
    finally:
        CHANGED.drop(connection)


def refresh_order_facts(full: bool = False) -> Refreshed:
    """Bring the kept order facts up to date in the session's transaction (the caller
    commits): the facts of every customer whose orders or customer row changed
    (``updated_at``) after ``MARGIN`` before the start of the last refresh are rebuilt;
    all of them when ``full``, never built, or more than ``FULL_SHARE`` changed. One
    refresh at a time (the stamp row is locked)."""
    stamp = db.session.scalars(
        select(OrderFactStamp).where(OrderFactStamp.id == 1).with_for_update()
    ).one_or_none()
    if stamp is None:
        stamp = OrderFactStamp(id=1)
        db.session.add(stamp)
        db.session.flush()
    started = utcnow()  # before the facts are read: a later change is seen next time
    connection = db.session.connection()
    _postgresql_settings(connection)
    count = (
        None
        if full or stamp.orders_until is None
        else _refresh_changed(connection, stamp.orders_until - MARGIN)
    )
    if count is None:
        _rebuild(connection, None)
    stamp.orders_until = started
    stamp.refreshed_at = utcnow()
    db.session.flush()
    return Refreshed(count, stamp.orders_until)


# --- per evaluation ------------------------------------------------------------------


class OrderFacts:
    """The facts as SELECTs of customer ids, for the rules."""

    def __init__(self, now: datetime):
        self.now = now

    def with_revenue(self, test) -> Select:
        """Customers with revenue in the last 12 months for which ``test(revenue)`` holds."""
        return select(REVENUE.c.customer_id).where(test(REVENUE.c.revenue))

    def with_last_order(self, test) -> Select:
        return select(CustomerOrderFact.customer_id).where(test(CustomerOrderFact.last_order_at))

    def bought_from(self, company_ids: list[int]) -> Select:
        return select(CompanyOrderFact.customer_id).where(
            CompanyOrderFact.company_id.in_(company_ids)
        )

    def bought(self, group_ids: list[int], since: datetime | None) -> Select:
        stmt = select(LineOrderFact.customer_id).where(
            LineOrderFact.product_group_id.in_(group_ids)
        )
        return stmt if since is None else stmt.where(LineOrderFact.last_at >= since)


@contextmanager
def order_facts(
    connection: Connection, rule_lists: Iterable[list[dict] | None], now: datetime
) -> Iterator[OrderFacts]:
    """The facts for these rules at ``now``: the kept ones (refresh them first,
    ``refresh_order_facts``) and, if a rule needs it, the revenue of the 365 days
    before ``now`` summed into a temporary table that is dropped afterwards."""
    used = [rule for rules in rule_lists for rule in rules or []]
    if not any(rule["type"] == "revenue" for rule in used):
        yield OrderFacts(now)
        return
    _postgresql_settings(connection)
    REVENUE.drop(connection, checkfirst=True)
    REVENUE.create(connection)
    try:
        # a customer without live orders in the 365 days has no row: revenue 0
        rows = (
            select(Order.customer_id, func.sum(Order.net_total))
            .where(_live_order(), Order.ordered_at >= now - timedelta(days=365))
            .group_by(Order.customer_id)
        )
        connection.execute(insert(REVENUE).from_select(["customer_id", "revenue"], rows))
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"ANALYZE {REVENUE.name}"))
        yield OrderFacts(now)
    finally:
        REVENUE.drop(connection, checkfirst=True)

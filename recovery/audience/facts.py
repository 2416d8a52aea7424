"""What the rules need of the orders, summed once per evaluation: per customer the net
revenue of the last 12 months and the latest live order, the companies bought from,
and per customer and product group the latest live purchase.

Read directly, each rule over orders or lines would be a pass over the whole history
(10 000 000 lines in the benchmark) – per group. Summed into temporary tables first,
the history is read once per evaluation round (and only the tables the round's rules
need are built); each group is then a join of small tables. The preview count uses the
same tables, so what it counts is what the evaluation adds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    Select,
    Table,
    func,
    or_,
    select,
    text,
)

from ..models import Order, OrderLine
from ..models.types import Money, UTCDateTime

# Orders and lines that count as revenue (docs/revenue.md).
DEAD_STATES = ("cancelled", "returned")

_META = MetaData()
CUSTOMER_FACTS = Table(
    "group_customer_facts",
    _META,
    Column("customer_id", Integer, primary_key=True),
    Column("revenue", Money),  # live net revenue of the last 365 days; NULL: none
    Column("last_order_at", UTCDateTime),  # the latest live order; NULL: none
    prefixes=["TEMPORARY"],
)
COMPANY_FACTS = Table(
    "group_company_facts",
    _META,
    Column("company_id", Integer, primary_key=True),
    Column("customer_id", Integer, primary_key=True),
    prefixes=["TEMPORARY"],
)
# Only the product groups some rule names.
LINE_FACTS = Table(
    "group_line_facts",
    _META,
    Column("product_group_id", Integer, primary_key=True),
    Column("customer_id", Integer, primary_key=True),
    Column("last_at", UTCDateTime),  # the latest live purchase of the group
    prefixes=["TEMPORARY"],
)
Index("ix_group_line_facts_last", LINE_FACTS.c.product_group_id, LINE_FACTS.c.last_at)

# For the rest of the evaluation's transaction (SET LOCAL). The sums group a million
# customers and join ten million lines to their orders: in the default 4 MB of
# work_mem they sort and spill to disk (bench/groups: 23 s instead of 10 s for the
# customers' sums alone). JIT compilation costs about a second per large statement and
# gains nothing on these plain aggregates.
POSTGRESQL_SETTINGS = ("SET LOCAL work_mem = '256MB'", "SET LOCAL jit = off")

# Rule type -> the tables it reads.
NEEDS = {
    "revenue": (CUSTOMER_FACTS,),
    "last_order": (CUSTOMER_FACTS,),
    "company": (COMPANY_FACTS,),
    "product_groups": (LINE_FACTS,),
}


def _live_order():
    return Order.state.not_in(DEAD_STATES)


def _fill(connection: Connection, table: Table, now: datetime, groups: set[int]) -> None:
    if table is CUSTOMER_FACTS:
        # a customer without live orders has no row: no revenue, no last order
        recent = Order.ordered_at >= now - timedelta(days=365)
        rows = (
            select(
                Order.customer_id,
                func.sum(Order.net_total).filter(recent),
                func.max(Order.ordered_at),
            )
            .where(_live_order())
            .group_by(Order.customer_id)
        )
    elif table is COMPANY_FACTS:
        rows = (
            select(Order.company_id, Order.customer_id)
            .where(Order.company_id.is_not(None))
            .distinct()
        )
    else:
        rows = (
            select(OrderLine.product_group_id, Order.customer_id, func.max(Order.ordered_at))
            .join(Order, Order.id == OrderLine.order_id)
            .where(
                _live_order(),
                OrderLine.product_group_id.in_(sorted(groups)),  # those the rules name
                or_(OrderLine.state.is_(None), OrderLine.state.not_in(DEAD_STATES)),
            )
            .group_by(OrderLine.product_group_id, Order.customer_id)
        )
    connection.execute(table.insert().from_select([c.name for c in table.columns], rows))
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"ANALYZE {table.name}"))


class OrderFacts:
    """The summed orders as SELECTs of customer ids, for the rules."""

    def __init__(self, now: datetime):
        self.now = now

    def with_revenue(self, test) -> Select:
        """Customers with revenue in the last 12 months for which ``test(revenue)`` holds."""
        return select(CUSTOMER_FACTS.c.customer_id).where(test(CUSTOMER_FACTS.c.revenue))

    def with_last_order(self, test) -> Select:
        return select(CUSTOMER_FACTS.c.customer_id).where(test(CUSTOMER_FACTS.c.last_order_at))

    def bought_from(self, company_ids: list[int]) -> Select:
        return select(COMPANY_FACTS.c.customer_id).where(
            COMPANY_FACTS.c.company_id.in_(company_ids)
        )

    def bought(self, group_ids: list[int], since: datetime | None) -> Select:
        stmt = select(LINE_FACTS.c.customer_id).where(LINE_FACTS.c.product_group_id.in_(group_ids))
        return stmt if since is None else stmt.where(LINE_FACTS.c.last_at >= since)


@contextmanager
def order_facts(
    connection: Connection, rule_lists: Iterable[list[dict] | None], now: datetime
) -> Iterator[OrderFacts]:
    """The tables the rules need, built on ``connection`` and dropped afterwards."""
    used = [rule for rules in rule_lists for rule in rules or []]
    tables = {table for rule in used for table in NEEDS.get(rule["type"], ())}
    groups = {i for rule in used if rule["type"] == "product_groups" for i in rule["ids"]}
    if tables and connection.dialect.name == "postgresql":
        for statement in POSTGRESQL_SETTINGS:
            connection.execute(text(statement))
    built = []
    try:
        for table in sorted(tables, key=lambda t: t.name):
            table.drop(connection, checkfirst=True)
            table.create(connection)
            built.append(table)
            _fill(connection, table, now, groups)
        yield OrderFacts(now)
    finally:
        for table in built:
            table.drop(connection, checkfirst=True)

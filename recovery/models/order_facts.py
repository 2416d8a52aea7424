"""What the group rules need of the orders, kept per customer (issue 15, G1).

Summing ten million order lines for every rule evaluation cost most of its time; these
tables hold the result instead and ``recovery.audience.facts.refresh_order_facts``
brings them up to date before every evaluation – only the customers whose orders (or
customer row) changed since the last refresh. The facts carry no clock: the rules apply
their windows ("in the last 6 months") when they read them, so a fact stays right as
time passes. The revenue of the last 12 months moves with the clock and is summed per
evaluation (``facts.order_facts``).

* ``order_fact_customer``: per customer with a live order, the latest one;
* ``order_fact_company``: per (customer, company) with an order of that company (any state);
* ``order_fact_line``: per (customer, product group) the latest live purchase (a live
  line in a live order);
* ``order_fact_stamp``: one row, when the last refresh started (``None``: never built).

No foreign keys (they would check every row of a rebuild); the delete triggers of
``group.py`` remove a deleted customer's facts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime


class OrderFactStamp(db.Model):
    __tablename__ = "order_fact_stamp"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # when the last refresh started: it saw every change committed before
    orders_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustomerOrderFact(db.Model):
    __tablename__ = "order_fact_customer"

    customer_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_order_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CompanyOrderFact(db.Model):
    __tablename__ = "order_fact_company"
    __table_args__ = (Index("ix_order_fact_company_company", "company_id"),)

    customer_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    company_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


class LineOrderFact(db.Model):
    __tablename__ = "order_fact_line"
    __table_args__ = (Index("ix_order_fact_line_group_last", "product_group_id", "last_at"),)

    customer_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    product_group_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)

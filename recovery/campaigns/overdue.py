"""The open overdue cases of ReConnect as SQL: each case with its customer, company and
do-not-contact records joined once, and the conditions of the tabs and counts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, literal, or_, select

from ..extensions import db
from ..messaging import reach
from ..messaging.cap import MarketingCap
from ..models import (
    Case,
    CaseKind,
    Company,
    Customer,
    Order,
    ReconnectContact,
    ReconnectExclusion,
)
from ..models.user import restrict_to_company

# The do-not-contact records joined to every statement over the overdue cases.
REACH = reach.Reach()


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


def switched_off(group_id: int, customer_ids: Iterable[int]) -> set[int]:
    """Those of the customers whose send switch for the group is off."""
    return set(
        db.session.scalars(
            select(ReconnectExclusion.customer_id).where(
                ReconnectExclusion.product_group_id == group_id,
                ReconnectExclusion.customer_id.in_(list(set(customer_ids))),
            )
        )
    )


def with_open_order(customer_ids: set[int], until: datetime | None = None) -> set[int]:
    """Those of the customers who have an open order (placed by ``until``, the moment of
    a decision, when given: the demo decides its history day by day). An automatic
    message never goes to them."""
    placed = () if until is None else (Order.ordered_at <= until,)
    return set(
        db.session.scalars(
            select(Order.customer_id)
            .where(Order.customer_id.in_(customer_ids), Order.state == "open", *placed)
            .distinct()
        )
    )

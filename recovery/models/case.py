"""Cases: one customer (or customer × product group) to win back, and its history.

Lifecycle: the analysis opens a case (status ``new``) when a rule flags a customer,
updates its numbers on every run while it is open, and closes it as ``closed`` when
the flag clears without an order. Sales actions move it to ``contacted``,
``offer_requested`` or ``reminder`` (with ``remind_at``); ``no_interest`` closes it.
Any new order after the case was opened closes it as ``recovered`` and credits the
order's net revenue. At most one open case exists per customer and key.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import DDL, JSON, ForeignKey, Index, String, Text, event, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.schema import CreateIndex

from ..extensions import db
from .customer import Customer
from .types import Money, UTCDateTime, utcnow


class CaseKind(StrEnum):
    """Why a case was opened; stored as its value."""

    DECLINE = "decline"  # the customer's revenue fell (one case per customer)
    OVERDUE = "overdue"  # an order of a product group is overdue (per customer × group)


class CaseStatus(StrEnum):
    """Where a case stands; stored as its value."""

    NEW = "new"
    REMINDER = "reminder"
    CONTACTED = "contacted"
    OFFER_REQUESTED = "offer_requested"
    NO_INTEREST = "no_interest"
    RECOVERED = "recovered"
    CLOSED = "closed"


OPEN_STATUSES = frozenset(
    {CaseStatus.NEW, CaseStatus.REMINDER, CaseStatus.CONTACTED, CaseStatus.OFFER_REQUESTED}
)

KIND_LABELS = {
    CaseKind.DECLINE: _l("Revenue decline"),
    CaseKind.OVERDUE: _l("Overdue by rhythm"),
}
STATUS_LABELS = {
    CaseStatus.NEW: _l("New"),
    CaseStatus.REMINDER: _l("Reminder"),
    CaseStatus.CONTACTED: _l("Contacted"),
    CaseStatus.OFFER_REQUESTED: _l("Offer requested"),
    CaseStatus.NO_INTEREST: _l("No interest"),
    CaseStatus.RECOVERED: _l("Recovered"),
    CaseStatus.CLOSED: _l("Closed"),
}


class Case(db.Model):
    __tablename__ = "recovery_case"
    __table_args__ = (
        # One open case per customer and key, enforced by the database.
        Index(
            "uq_recovery_case_open",
            "customer_id",
            "key",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_recovery_case_status_remind", "status", "remind_at"),
        Index("ix_recovery_case_company_status", "company_id", "status"),
        Index("ix_recovery_case_customer", "customer_id"),
        # Counting the cases of a tile reads only this index; PostgreSQL stores each
        # (kind, status) once with a list of rows, so 200 000 cases count in a few ms.
        Index("ix_recovery_case_kind_status", "kind", "status"),
        # Due reminders, recovered revenue and a company's counts from the index alone.
        Index(
            "ix_recovery_case_tiles",
            "kind",
            "status",
            "company_id",
            "remind_at",
            "recovered_revenue",
        ),
        # The free-text search: trigrams (pg_trgm) of the customer's searched fields,
        # copied onto the case by triggers (models/copies.py); on SQLite a plain index.
        Index(
            "ix_recovery_case_search",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys on the references: triggers check them once per statement and
    # cascade a deleted customer or order (models/case_keys.py).
    customer_id: Mapped[int]
    # "decline" or "overdue:<product_group_id>" (see CaseKind)
    key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    product_group_id: Mapped[int | None]
    company_id: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20), default=CaseStatus.NEW)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason_key: Mapped[str | None] = mapped_column(String(50))
    reason_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason_text: Mapped[str | None] = mapped_column(Text)
    reference_revenue: Mapped[Decimal | None] = mapped_column(Money)
    current_revenue: Mapped[Decimal | None] = mapped_column(Money)
    decline_pct: Mapped[float | None]
    revenue_at_risk: Mapped[Decimal | None] = mapped_column(Money)
    p_churn: Mapped[float | None]
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expected_next_order: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_user_id: Mapped[int | None]
    claimed_by_id: Mapped[int | None]
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recovered_revenue: Mapped[Decimal | None] = mapped_column(Money)
    recovered_order_id: Mapped[int | None]
    analysed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Copies of the customer's values for the search and the list sorts, written by
    # triggers only (models/copies.py).
    search_text: Mapped[str | None] = mapped_column(Text, deferred=True)
    sort_name: Mapped[str | None] = mapped_column(String(300), deferred=True)
    customer_number: Mapped[str | None] = mapped_column(String(100), deferred=True)
    customer_group: Mapped[str | None] = mapped_column(String(100), deferred=True)

    customer: Mapped[Customer] = relationship(
        primaryjoin="foreign(Case.customer_id) == Customer.id"
    )
    product_group = relationship(
        "ProductGroup", primaryjoin="foreign(Case.product_group_id) == ProductGroup.id"
    )
    company = relationship("Company", primaryjoin="foreign(Case.company_id) == Company.id")
    assigned_user = relationship("User", primaryjoin="foreign(Case.assigned_user_id) == User.id")
    claimed_by = relationship("User", primaryjoin="foreign(Case.claimed_by_id) == User.id")
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseEvent.created_at"
    )

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


# A list page sorted by a column reads the first rows of one of these indexes in list
# order (ORDER BY … DESC NULLS LAST, id or ASC NULLS LAST, id) instead of sorting every
# case of the list; the customer's name, number and group are the case's copies. An
# index read backwards would put NULLs and ties the other way round, so each direction
# has its own. Status, assignee, reminder date and company have no sort index: a status
# list is one index range already, the others are rarely sorted on the big list.
LIST_SORT_COLUMNS = {
    "risk": Case.revenue_at_risk,
    "decline": Case.decline_pct,
    "last_order": Case.last_order_at,
    "reference": Case.reference_revenue,
    "current": Case.current_revenue,
    "name": Case.sort_name,
    "number": Case.customer_number,
    "group": Case.customer_group,
}
for _key, _column in LIST_SORT_COLUMNS.items():
    Index(
        f"ix_recovery_case_list_{_key}",
        Case.kind,
        Case.status,
        _column.desc().nulls_last(),
        Case.id,
    )
    Index(f"ix_recovery_case_list_{_key}_asc", Case.kind, Case.status, _column, Case.id)

# ReConnect's tabs (campaigns/lists.py): one product group's open cases, highest revenue
# at risk first, read from the front of this index.
Index(
    "ix_recovery_case_group_open",
    Case.product_group_id,
    Case.revenue_at_risk.desc().nulls_last(),
    Case.id,
    sqlite_where=text("closed_at IS NULL"),
    postgresql_where=text("closed_at IS NULL"),
)


# Every analysis run rewrites the reason of each open case (the days since the last
# order change daily); an overdue case's indexed columns stay the same. With half of each
# page left free, PostgreSQL writes the new row version on the same page without a new
# entry in any of the 25 indexes (a HOT update): the nightly update of the open cases
# costs a fifth of the database time (bench/analysis/README.md). The migration
# (c5d1f0a9e3b7) sets it on existing databases.
CASE_FILLFACTOR = 50
event.listen(
    Case.__table__,
    "after_create",
    DDL(f"ALTER TABLE recovery_case SET (fillfactor = {CASE_FILLFACTOR})").execute_if(
        dialect="postgresql"
    ),
)


@compiles(CreateIndex, "sqlite")
def _create_index_sqlite(create, compiler, **kw) -> str:
    """SQLite takes no NULLS LAST in an index; its DESC puts NULLs last all the same."""
    return compiler.visit_create_index(create, **kw).replace(" NULLS LAST", "")


class CaseEvent(db.Model):
    """Who did what and when; ``form_token`` makes a resent form a no-op."""

    __tablename__ = "case_event"
    __table_args__ = (
        Index("ix_case_event_case_created", "case_id", "created_at"),
        Index("ix_case_event_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("recovery_case.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    form_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="events")
    user = relationship("User")


class CaseViewer(db.Model):
    """Who has a case page open: the page's script posts a heartbeat every ~30 s while
    it is visible, and a last post when the page is left. Presence only; no claim."""

    __tablename__ = "case_viewer"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("recovery_case.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    user = relationship("User")

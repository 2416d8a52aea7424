"""Orders, order lines, products and product groups (Warengruppen)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import Money, Quantity, UTCDateTime, utcnow

ORDER_STATES = ("open", "completed", "cancelled", "returned")


class ProductGroup(db.Model):
    __tablename__ = "product_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Admin-set default re-order interval; overrides the interval learnt from the data.
    default_interval_days: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Product(db.Model):
    __tablename__ = "product"
    __table_args__ = (UniqueConstraint("source", "sku"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(50))
    sku: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(300))
    product_group_id: Mapped[int | None] = mapped_column(ForeignKey("product_group.id"))

    product_group: Mapped[ProductGroup | None] = relationship()


class Order(db.Model):
    __tablename__ = "customer_order"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_customer_order_customer_date", "customer_id", "ordered_at"),
        Index("ix_customer_order_ordered_at", "ordered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(50))
    external_id: Mapped[str] = mapped_column(String(100))
    number: Mapped[str | None] = mapped_column(String(100))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    net_total: Mapped[Decimal] = mapped_column(Money)
    gross_total: Mapped[Decimal | None] = mapped_column(Money)
    state: Mapped[str] = mapped_column(String(10), default="completed")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.line_no"
    )
    company = relationship("Company")


class OrderLine(db.Model):
    __tablename__ = "order_line"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    line_no: Mapped[int]
    sku: Mapped[str | None] = mapped_column(String(100))
    product_name: Mapped[str | None] = mapped_column(String(300))
    product_group_id: Mapped[int | None] = mapped_column(ForeignKey("product_group.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("1"))
    net_amount: Mapped[Decimal] = mapped_column(Money)
    gross_amount: Mapped[Decimal | None] = mapped_column(Money)
    # The line's own state where the source has one per line (a cancelled position of a
    # completed order); None: the line shares its order's state.
    state: Mapped[str | None] = mapped_column(String(10))

    order: Mapped[Order] = relationship(back_populates="lines")
    product_group: Mapped[ProductGroup | None] = relationship()

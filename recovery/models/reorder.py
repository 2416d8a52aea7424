"""The reorder reminder (PRODUCT.md R6, docs/reconnect.md): settings and texts per
product group, the analysis's predictions for the pairs that are not overdue yet, and
one reminder row per customer × group × starting order."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import Money, UTCDateTime, utcnow


class ReminderMode(StrEnum):
    OFF = "off"
    AFTER = "after"  # N days after the order
    PREDICTED = "predicted"  # D days before the customer becomes overdue


REMINDER_MODE_LABELS = {
    ReminderMode.OFF: _l("No reminder"),
    ReminderMode.AFTER: _l("N days after the order"),
    ReminderMode.PREDICTED: _l("At the predicted time, D days before the customer becomes overdue"),
}

# What became of a reminder (``ReorderReminder.state``).
REMINDER_STATE_LABELS = {
    "held": _l("held by the marketing cap"),
    "sent": _l("sent"),
    "skipped": _l("not sent"),
}

# Why a reminder was not sent (``ReorderReminder.reason``).
REMINDER_SKIP_LABELS = {
    "ordered": _l("ordered from the group again"),
    "open_order": _l("has an open order"),
    "switched_off": _l("send switch off"),
    "unsubscribed": _l("cannot be contacted any more"),
    "no_text": _l("no reminder text set"),
    "cannot_send": _l("the message could not be built"),
    "reminder_off": _l("reminders switched off for the group"),
    "too_late": _l("held by the cap until its moment had passed"),
}


class ReorderSettings(db.Model):
    """Per product group: the reminder's mode, its days and its own texts."""

    __tablename__ = "reorder_settings"

    product_group_id: Mapped[int] = mapped_column(
        ForeignKey("product_group.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(String(10), default=ReminderMode.OFF)
    days_after: Mapped[int] = mapped_column(default=30)
    days_before: Mapped[int] = mapped_column(default=7)
    email_template_id: Mapped[int | None]
    sms_text: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    product_group = relationship("ProductGroup")


class ReorderDue(db.Model):
    """The analysis's prediction for a customer × group pair that is not overdue yet.

    Written by every analysis run (all rows replaced) for the groups whose reminder
    waits for the predicted time; ``overdue_from`` = last order day + typical interval ×
    tolerance, the moment the pair would become an overdue case. No foreign keys: the
    table is rewritten as a whole and read by the reminder task only.
    """

    __tablename__ = "reorder_due"
    __table_args__ = (Index("ix_reorder_due_group_overdue", "product_group_id", "overdue_from"),)

    customer_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    product_group_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    order_id: Mapped[int]  # the last order of the group: what starts the reminder
    company_id: Mapped[int | None]
    last_order_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expected_next_order: Mapped[datetime] = mapped_column(UTCDateTime)
    overdue_from: Mapped[datetime] = mapped_column(UTCDateTime)


class ReorderReminder(db.Model):
    """One reminder: decided once per customer × group × starting order (unique key).

    Inserting the row is the conditional write that decides it; a reminder held by the
    cap stays ``held`` and is decided again (conditional update on ``state``) when
    ``held_until`` has passed. Messages carry no case (``case_id`` NULL); the row names
    them.
    """

    __tablename__ = "reorder_reminder"
    __table_args__ = (
        UniqueConstraint("customer_id", "product_group_id", "order_id"),
        Index("ix_reorder_reminder_group_state_decided", "product_group_id", "state", "decided_at"),
        Index("ix_reorder_reminder_state_held", "state", "held_until"),
        Index("ix_reorder_reminder_email", "email_message_id"),
        Index("ix_reorder_reminder_sms", "sms_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    product_group_id: Mapped[int] = mapped_column(
        ForeignKey("product_group.id", ondelete="CASCADE")
    )
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"))
    mode: Mapped[str] = mapped_column(String(10))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # held, sent or skipped; ``reason`` is the key of REMINDER_SKIP_LABELS when skipped
    state: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(30))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channels: Mapped[str | None] = mapped_column(String(20))
    email_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL")
    )
    sms_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL")
    )
    # Counted like ReConnect: the first order of the group inside the attribution window.
    reordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reordered_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_order.id", ondelete="SET NULL")
    )
    reordered_revenue: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer = relationship("Customer")

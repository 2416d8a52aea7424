"""Messages (stored before they are sent) and raw Mailjet webhook events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

MESSAGE_STATES = ("queued", "sending", "unknown", "sent", "outbox", "failed", "cancelled")


class Message(db.Model):
    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_state_send_after", "state", "send_after"),
        Index("ix_message_customer_created", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("recovery_case.id", ondelete="SET NULL"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"))
    channel: Mapped[str] = mapped_column(String(10), default="email")
    # queue, offer, reconnect, followup, newsletter
    purpose: Mapped[str] = mapped_column(String(20))
    marketing: Mapped[bool] = mapped_column(default=True)
    template_kind: Mapped[str | None] = mapped_column(String(20))
    template_id: Mapped[int | None]
    to_address: Mapped[str] = mapped_column(String(254))
    to_name: Mapped[str | None] = mapped_column(String(300))
    from_address: Mapped[str | None] = mapped_column(String(254))
    from_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(50))
    provider_id: Mapped[str | None] = mapped_column(String(100))
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer = relationship("Customer")
    case = relationship("Case")
    company = relationship("Company")
    created_by = relationship("User")


class WebhookEvent(db.Model):
    """The raw body is stored first; processing happens after, once per event."""

    __tablename__ = "webhook_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Hash of the event's identifying fields: a replay finds the same key.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str | None] = mapped_column(String(20))
    raw: Mapped[str] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)

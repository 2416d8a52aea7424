"""Messages (stored before they are sent), raw Mailjet webhook events and the
message texts per product group."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class MessageState(StrEnum):
    """Where a stored message is on its way out (messaging/sending.py)."""

    QUEUED = "queued"
    SENDING = "sending"
    UNKNOWN = "unknown"
    SENT = "sent"
    OUTBOX = "outbox"
    FAILED = "failed"
    CANCELLED = "cancelled"


MESSAGE_STATE_LABELS = {
    MessageState.QUEUED: _l("queued"),
    MessageState.SENDING: _l("sending"),
    MessageState.UNKNOWN: _l("outcome unknown"),
    MessageState.SENT: _l("sent"),
    MessageState.OUTBOX: _l("in the outbox"),
    MessageState.FAILED: _l("failed"),
    MessageState.CANCELLED: _l("cancelled"),
}
MESSAGE_STATES = tuple(MessageState)


class Channel(StrEnum):
    """The ways a message reaches a customer; each has a module in messaging/channels/."""

    EMAIL = "email"
    SMS = "sms"


CHANNEL_LABELS = {Channel.EMAIL: _l("Email"), Channel.SMS: _l("SMS")}


class ChannelPreference(StrEnum):
    """Per company (M4): which channels a win-back message goes out on."""

    EMAIL = "email"
    SMS = "sms"
    BOTH = "both"
    SMS_ELSE_EMAIL = "sms_else_email"


CHANNEL_PREFERENCE_LABELS = {
    ChannelPreference.EMAIL: _l("Email only"),
    ChannelPreference.SMS: _l("SMS only"),
    ChannelPreference.BOTH: _l("Email and SMS"),
    ChannelPreference.SMS_ELSE_EMAIL: _l("SMS if possible, otherwise email"),
}


class MessagePurpose(StrEnum):
    """Why a message was written: from the queue, an offer request, ReConnect, …"""

    QUEUE = "queue"
    OFFER = "offer"
    RECONNECT = "reconnect"
    FOLLOWUP = "followup"
    REMINDER = "reminder"
    NEWSLETTER = "newsletter"
    CONFIRMATION = "confirmation"


PURPOSE_LABELS = {
    MessagePurpose.QUEUE: _l("Queue"),
    MessagePurpose.OFFER: _l("Offer request"),
    MessagePurpose.RECONNECT: _l("ReConnect"),
    MessagePurpose.FOLLOWUP: _l("Follow-up"),
    MessagePurpose.REMINDER: _l("Reorder reminder"),
    MessagePurpose.NEWSLETTER: _l("Newsletter"),
    MessagePurpose.CONFIRMATION: _l("Newsletter confirmation"),
}
MESSAGE_PURPOSES = tuple(MessagePurpose)


class Message(db.Model):
    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_state_send_after", "state", "send_after"),
        Index("ix_message_customer_created", "customer_id", "created_at"),
        Index("ix_message_provider_id", "provider_id"),
        # One message per recipient of a serial message: a restarted job queues no second.
        UniqueConstraint("serial_message_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("recovery_case.id", ondelete="SET NULL"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"))
    channel: Mapped[str] = mapped_column(String(10), default=Channel.EMAIL)
    # The SMS provider chosen when the message was stored (None: Mailjet, as before).
    provider: Mapped[str | None] = mapped_column(String(20))
    # queue, offer, reconnect, followup, reminder, newsletter
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
    # Set while Mailjet may or may not have taken the message (lost answer, lease
    # expired mid-send): the worker looks it up by CustomID before sending again.
    unknown_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the event webhook last told us (sent, open, click, bounce, blocked, spam, unsub).
    last_event: Mapped[str | None] = mapped_column(String(20))
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The serial message (G4) this is one recipient's copy of.
    serial_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("serial_message.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer = relationship("Customer")
    case = relationship("Case")
    company = relationship("Company")
    created_by = relationship("User")

    @classmethod
    def state_in(cls, *states: str) -> ColumnElement[bool]:
        """``state`` is one of ``states``, written so that no index on the state serves
        it: for a statement whose selective condition is elsewhere (message or customer
        ids) and the state only a guard.

        The planner's statistics of the state lag behind a serial message (100 000 rows
        go from queued to sending to sent within minutes; autovacuum analyses the table
        after the fact), and while they say "hardly any row is sending (sent)" PostgreSQL
        reads every index entry of that state – the dead ones included – for each call's
        50 ids instead of looking the 50 up by their key: a statement that grows with the
        messages sent so far.
        """
        return (cls.state + "").in_(states)


class WebhookPost(db.Model):
    """One POST of Mailjet events, stored as it came (one insert) before the answer.

    The worker's ``mailjet events`` job splits it into ``WebhookEvent`` rows (and
    empties ``body``) in one transaction, then processes them (messaging/webhook.py).
    """

    __tablename__ = "webhook_post"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    body: Mapped[str | None] = mapped_column(Text)  # None once split into events
    events: Mapped[int] = mapped_column(default=0)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id", ondelete="SET NULL"))
    split_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class WebhookEvent(db.Model):
    """The raw body is stored first; processing happens after, once per event."""

    __tablename__ = "webhook_event"
    __table_args__ = (
        Index("ix_webhook_event_processed_received", "processed_at", "received_at"),
        Index("ix_webhook_event_message_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The POST it came in (the first one, for an event Mailjet sent again).
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_post.id", ondelete="SET NULL"), index=True
    )
    # Hash of the event's identifying fields: a replay finds the same key.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str | None] = mapped_column(String(20))
    raw: Mapped[str] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # Processing tries; the worker retries a failed event a few times, then leaves it.
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class GroupMessageTexts(db.Model):
    """Per product group (M3): first and follow-up email templates and SMS texts."""

    __tablename__ = "group_message_texts"

    product_group_id: Mapped[int] = mapped_column(
        ForeignKey("product_group.id", ondelete="CASCADE"), primary_key=True
    )
    first_email_template_id: Mapped[int | None]
    followup_email_template_id: Mapped[int | None]
    first_sms_text: Mapped[str | None] = mapped_column(Text)
    followup_sms_text: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    product_group = relationship("ProductGroup")

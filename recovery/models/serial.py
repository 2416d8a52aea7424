"""Serial messages to a group or a newsletter's confirmed subscribers (PRODUCT.md G4).

A ``SerialMessage`` is written as a draft, previewed, tested, then scheduled or sent
now. Sending queues one ``Message`` per recipient (``Message.serial_message_id``; the
pair with the customer is unique, so a restarted job never queues a second one) that
goes through the same outbox, sending loop, send windows, cap and consent checks as
every other marketing message.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class SerialTarget(StrEnum):
    """Who gets it: every member of the group, or its newsletter's confirmed subscribers."""

    GROUP = "group"
    NEWSLETTER = "newsletter"


class SerialState(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    QUEUEING = "queueing"
    SENT = "sent"


SERIAL_STATE_LABELS = {
    SerialState.DRAFT: _l("draft"),
    SerialState.SCHEDULED: _l("scheduled"),
    SerialState.QUEUEING: _l("being queued"),
    SerialState.SENT: _l("queued for sending"),
}


class SalutationMode(StrEnum):
    """``formal``: "Sehr geehrte Frau Schäfer"; ``informal``: "Hallo Anna"; ``none``."""

    FORMAL = "formal"
    INFORMAL = "informal"
    NONE = "none"


SALUTATION_MODE_LABELS = {
    SalutationMode.FORMAL: _l("Formal, built from the customer data"),
    SalutationMode.INFORMAL: _l("Informal, with the first name"),
    SalutationMode.NONE: _l("No salutation"),
}


class SerialMessage(db.Model):
    """One serial message: a Mailjet template (``template_id``) or ``subject`` + ``body``.

    ``queued_through`` is the last customer id the sending job has gone through (a
    restarted job goes on from there); ``recipients`` and ``skipped`` (reason → count)
    are written in the same transaction as the messages of each chunk.
    """

    __tablename__ = "serial_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    group_id: Mapped[int] = mapped_column(ForeignKey("contact_group.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(12), default=SerialTarget.GROUP)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
    template_id: Mapped[int | None]
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    salutation: Mapped[str] = mapped_column(String(10), default=SalutationMode.FORMAL)
    state: Mapped[str] = mapped_column(String(10), default=SerialState.DRAFT, index=True)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    queued_through: Mapped[int] = mapped_column(default=0)
    recipients: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    group = relationship("ContactGroup")
    company = relationship("Company")
    created_by = relationship("User")

"""Customers as read from the source systems, and their do-not-contact records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, ForeignKey, Index, String, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .message import Channel
from .types import UTCDateTime, utcnow

CHANNELS = tuple(Channel)
DNC_REASONS = ("unsubscribed", "hard_bounce", "spam", "provider_block", "manual", "imported")


class Customer(db.Model):
    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_customer_number", "number"),
        Index("ix_customer_email", "email"),
        # A newsletter sign-up finds the customer by address, whatever its case.
        Index("ix_customer_email_lower", text("lower(email)")),
        # The filter's drop-down reads the distinct groups from here, one probe each.
        Index("ix_customer_group", "customer_group"),
        # The connector page lists a source's unrecognised countries.
        Index("ix_customer_source_country_raw", "source", "country_raw"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(50))
    external_id: Mapped[str] = mapped_column(String(100))
    number: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    company_name: Mapped[str | None] = mapped_column(String(300))
    # "ms", "mr", "company" or "diverse" when known (the source's "Anrede", or a sign-up
    # form's salutation field); None: not known, the salutation of a serial message is
    # then built without it (messaging/salutation.py).
    salutation: Mapped[str | None] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    mobile: Mapped[str | None] = mapped_column(String(50))
    city: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    # The source's country value when it names no country we recognise (``country`` is
    # then empty): kept so the admin sees it and can correct it in the source.
    country_raw: Mapped[str | None] = mapped_column(String(100))
    customer_group: Mapped[str | None] = mapped_column(String(100))
    # True: the customer agreed to marketing; False: the source records no consent (or an
    # objection) – never a marketing message; None: the source does not say (many WaWi
    # exports have no such column) – email and SMS to this existing customer under the
    # UWG §7(3) exception, with the unsubscribe link in every message (docs/reconnect.md).
    marketing_consent: Mapped[bool | None]
    locale: Mapped[str] = mapped_column(String(5), default="de")
    # A sign-up form's contact merged into the WaWi customer of its address when that
    # customer arrived (sources/contacts.py); its links still lead to that customer. No
    # foreign key: adding one would make SQLite rebuild the table the case search
    # triggers refer to; a customer gone since makes the old link invalid, as it should.
    merged_into_id: Mapped[int | None]
    # Set by "no interest": the analysis leaves the customer out until then.
    no_interest_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    do_not_contact: Mapped[list[DoNotContact]] = relationship(
        back_populates="customer", cascade="all, delete-orphan"
    )

    @property
    def display_name(self) -> str:
        return display_name(
            self.first_name, self.last_name, self.company_name, self.number, self.id
        )

    def blocked_channels(self) -> dict[str, str]:
        return {d.channel: d.reason for d in self.do_not_contact}


def display_name(first_name, last_name, company_name, number, customer_id) -> str:
    """A person's name, else the company's, else the customer number, else ``#id``."""
    person = " ".join(p for p in (first_name, last_name) if p)
    return person or company_name or number or f"#{customer_id}"


# ix_recovery_case_search needs the trigram operator class; migrations create the
# extension, this covers create_all (the tests on PostgreSQL).
event.listen(
    Customer.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)


class DoNotContact(db.Model):
    """One record per customer and channel; checked right before every send.

    ``reason`` and ``note`` are the latest; ``history`` lists every reason recorded, the
    latest last, as ``{"reason", "note", "at"}`` (written by ``messaging.consent.block``).
    """

    __tablename__ = "do_not_contact"
    __table_args__ = (UniqueConstraint("customer_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    history: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    customer: Mapped[Customer] = relationship(back_populates="do_not_contact")

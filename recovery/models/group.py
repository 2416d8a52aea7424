"""Customer groups and newsletters (PRODUCT.md G1–G5, issue 15).

A ``ContactGroup`` is the merchant's own group (not the source system's
``Customer.customer_group``): members by hand, by rules evaluated after every analysis,
or by a newsletter's sign-up form. Every change of membership is kept in
``GroupMemberChange`` (who or which rule, when). A group may have one ``Newsletter``;
its ``NewsletterSubscription`` rows hold the consent proof (GDPR Art. 7(1)).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

# The source of a person the sign-up form made (no WaWi customer); merged into the WaWi
# customer of the same address when that arrives (sources/contacts.py).
CONTACT_SOURCE = "newsletter"

# How a customer came into a group (``GroupMember.source``, ``GroupMemberChange.source``).
MEMBER_SOURCE_LABELS = {
    "rule": _l("by rule"),
    "hand": _l("by hand"),
    "form": _l("sign-up form"),
}

# A newsletter subscription's state (``NewsletterSubscription.status``).
SUBSCRIPTION_STATUS_LABELS = {
    "pending": _l("waiting for confirmation"),
    "confirmed": _l("confirmed"),
    "unsubscribed": _l("unsubscribed"),
}


class ContactGroup(db.Model):
    """A group of customers: name, description, active, and optional rules.

    ``rules`` is a list of rule dicts (``{"type": ..., ...}``, all must match), or empty
    for a group whose members are added by hand or by a form only. An inactive group
    takes no new members and keeps the ones it has.
    """

    __tablename__ = "contact_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    rules: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    rules_evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    newsletter: Mapped[Newsletter | None] = relationship(back_populates="group", uselist=False)


class GroupMember(db.Model):
    """A customer in a group now; a member who leaves is deleted (the change is kept)."""

    __tablename__ = "group_member"
    __table_args__ = (
        UniqueConstraint("group_id", "customer_id"),
        Index("ix_group_member_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # no foreign keys: the delete triggers below remove a deleted group's or customer's
    # rows (a key check on every inserted row was most of the time of adding members)
    group_id: Mapped[int]
    customer_id: Mapped[int]
    source: Mapped[str] = mapped_column(String(10))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    group = relationship(
        "ContactGroup", primaryjoin="foreign(GroupMember.group_id) == ContactGroup.id"
    )
    customer = relationship(
        "Customer", primaryjoin="foreign(GroupMember.customer_id) == Customer.id"
    )


class GroupMemberChange(db.Model):
    """One change of membership: added or removed, by whom (user) or how (rule, form)."""

    __tablename__ = "group_member_change"
    __table_args__ = (
        Index("ix_group_member_change_group_at", "group_id", "at"),
        Index("ix_group_member_change_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int]  # no foreign keys: see GroupMember
    customer_id: Mapped[int]
    # "added" or "removed"
    change: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Newsletter(db.Model):
    """A group's newsletter; ``double_opt_in`` = "customer must confirm".

    The confirmation email uses ``confirm_template_id`` (a Mailjet template) when set,
    else ``confirm_subject`` / ``confirm_text``; ``confirm_text`` is the merchant's own
    text either way. ``form_fields`` says which optional fields the public form shows
    (``{"first_name": bool, "last_name": bool, "salutation": bool}``); unconfirmed
    sign-ups older than ``expire_hours`` are deleted.
    """

    __tablename__ = "newsletter"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("contact_group.id", ondelete="CASCADE"), unique=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    double_opt_in: Mapped[bool] = mapped_column(default=True)
    confirm_template_id: Mapped[int | None]
    confirm_subject: Mapped[str | None] = mapped_column(String(300))
    confirm_text: Mapped[str | None] = mapped_column(Text)
    form_fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    expire_hours: Mapped[int] = mapped_column(default=72)
    # The company whose name and shop frame the public form and who sends the mails.
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="SET NULL"))
    # The unguessable part of the public form's address (not the id: no counting through).
    public_key: Mapped[str] = mapped_column(
        String(32), unique=True, default=lambda: secrets.token_urlsafe(16)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    group: Mapped[ContactGroup] = relationship(back_populates="newsletter")
    company = relationship("Company")


class NewsletterSubscription(db.Model):
    """One customer's subscription to a newsletter, with the consent proof.

    ``form`` names where the sign-up came from (the form's key or "hand"), ``text_shown``
    is the consent text version the person saw, ``signup_ip`` / ``confirm_ip`` the
    addresses; ``confirmed_at`` is set by the signed confirmation link.
    """

    __tablename__ = "newsletter_subscription"
    __table_args__ = (
        UniqueConstraint("newsletter_id", "customer_id"),
        Index("ix_newsletter_subscription_status", "newsletter_id", "status"),
        Index("ix_newsletter_subscription_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletter.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(15), default="pending")
    source: Mapped[str] = mapped_column(String(10))
    form: Mapped[str | None] = mapped_column(String(100))
    text_shown: Mapped[str | None] = mapped_column(Text)
    signup_ip: Mapped[str | None] = mapped_column(String(45))
    signed_up_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirm_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirm_ip: Mapped[str | None] = mapped_column(String(45))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The salutation given on the form ("ms", "mr", "diverse"), for the serial message.
    salutation: Mapped[str | None] = mapped_column(String(10))
    # Earlier consents of this row (a sign-up again after unsubscribing starts a new
    # one): the proof of each, the latest last, as written by newsletters.signup.
    history: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    newsletter = relationship("Newsletter")
    customer = relationship("Customer")

    def proof(self) -> dict[str, str | None]:
        """The consent proof of one round, as kept in ``history`` and shown to the admin."""

        def at(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "form": self.form,
            "text_shown": self.text_shown,
            "signup_ip": self.signup_ip,
            "signed_up_at": at(self.signed_up_at),
            "confirmed_at": at(self.confirmed_at),
            "confirm_ip": self.confirm_ip,
            "unsubscribed_at": at(self.unsubscribed_at),
        }


class SignupAttempt(db.Model):
    """One post of a public sign-up form, counted for the rate limits per client and per
    address (rows, so every web process sees the same numbers); deleted after a day.

    ``address_hash`` is a keyed hash of the normalised address: the limit needs no
    readable address of people who never confirmed.
    """

    __tablename__ = "newsletter_signup_attempt"
    __table_args__ = (
        Index("ix_newsletter_signup_attempt_ip_at", "ip", "at"),
        Index("ix_newsletter_signup_attempt_address_at", "address_hash", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletter.id", ondelete="CASCADE"))
    ip: Mapped[str] = mapped_column(String(45))
    address_hash: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

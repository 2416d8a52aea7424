"""ReConnect (PRODUCT.md R1–R7): settings per product group, the send switch per
customer × group, and one contact row per overdue episode (see docs/reconnect.md)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import Money, UTCDateTime, utcnow

# Why the worker did not send a follow-up (``ReconnectContact.followup_skipped``).
FOLLOWUP_SKIP_LABELS = {
    "ordered": _l("ordered from the group"),
    "open_order": _l("has an open order"),
    "closed": _l("case closed"),
    "switched_off": _l("send switch off"),
    "unsubscribed": _l("cannot be contacted any more"),
    "no_text": _l("no follow-up text set"),
    "cannot_send": _l("the message could not be built"),
    "group_off": _l("ReConnect switched off for the group"),
}


class ReconnectSettings(db.Model):
    """Per product group: switched on, the follow-up delay and the attribution window.

    The texts stay in ``GroupMessageTexts``; a group without a row is switched off.
    """

    __tablename__ = "reconnect_settings"

    product_group_id: Mapped[int] = mapped_column(
        ForeignKey("product_group.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(default=False)
    followup_delay_days: Mapped[int] = mapped_column(default=14)
    attribution_days: Mapped[int] = mapped_column(default=30)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    product_group = relationship("ProductGroup")


class ReconnectExclusion(db.Model):
    """The send switch turned off for one customer × product group (R2).

    Kept apart from the contacts: it outlives an overdue episode, and the worker reads
    it right before it queues anything.
    """

    __tablename__ = "reconnect_exclusion"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    product_group_id: Mapped[int] = mapped_column(
        ForeignKey("product_group.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class ReconnectContact(db.Model):
    """One overdue episode (an overdue ``Case``) that ReConnect contacted.

    Unique per case: inserting the row is the conditional write that makes the first
    message happen once. The follow-up and the reconnected order are written by
    conditional updates on the same row (``followup_at IS NULL``, ``reconnected_at IS
    NULL``). ``customer_id``, ``product_group_id`` and ``company_id`` are the case's,
    copied so the tabs and the worker read one table and its indexes.
    """

    __tablename__ = "reconnect_contact"
    __table_args__ = (
        # The tabs: one group's contacts in a state, newest first.
        Index("ix_reconnect_contact_group_first", "product_group_id", "first_sent_at"),
        Index("ix_reconnect_contact_group_followup", "product_group_id", "followup_at"),
        Index("ix_reconnect_contact_group_reconnected", "product_group_id", "reconnected_at"),
        Index("ix_reconnect_contact_customer_group", "customer_id", "product_group_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("recovery_case.id", ondelete="CASCADE"), unique=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    product_group_id: Mapped[int] = mapped_column(ForeignKey("product_group.id"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"))
    first_sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The channels the first message went out on, e.g. "email" or "email,sms".
    first_channels: Mapped[str] = mapped_column(String(20))
    # The follow-up: when it was queued, or why it was not (a reason key) and when decided.
    followup_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    followup_skipped: Mapped[str | None] = mapped_column(String(30))
    followup_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Held by the marketing cap: when the customer's latest marketing message was created.
    # Not decided again until the cap (as set then) has passed it, so held contacts do not
    # take the places of the group's other due follow-ups run after run.
    followup_held_last: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # R4: the order that reconnected the customer and its net revenue in the group.
    reconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reconnected_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_order.id", ondelete="SET NULL")
    )
    reconnected_revenue: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case = relationship("Case")
    customer = relationship("Customer")


class ReconnectTally(db.Model):
    """The overview's and the confirm step's counts of open overdue cases per product
    group and company (``company_id`` 0: none), counted by the worker
    (``campaigns/tally.py``): counting 200 000 pairs with their reachability takes most
    of a second, reading these rows a millisecond."""

    __tablename__ = "reconnect_tally"

    product_group_id: Mapped[int] = mapped_column(
        ForeignKey("product_group.id", ondelete="CASCADE"), primary_key=True
    )
    company_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    overdue: Mapped[int] = mapped_column(default=0)
    fresh: Mapped[int] = mapped_column(default=0)  # not contacted in this episode
    reachable: Mapped[int] = mapped_column(default=0)  # fresh, reachable, cap free
    due: Mapped[int] = mapped_column(default=0)  # reachable and the send switch on
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReconnectResult(db.Model):
    """The results page's figures (R5) of the last 3 months per product group and
    company (``company_id`` 0: none), counted by the worker (``campaigns/results_tally.py``):
    counting them takes a second of database time over a big shop's history, reading
    these rows a millisecond. ``not_*``: the comparison group (not contacted)."""

    __tablename__ = "reconnect_result"

    product_group_id: Mapped[int] = mapped_column(
        ForeignKey("product_group.id", ondelete="CASCADE"), primary_key=True
    )
    company_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    overdue: Mapped[int] = mapped_column(default=0)
    contacted: Mapped[int] = mapped_column(default=0)
    reconnected: Mapped[int] = mapped_column(default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    not_contacted: Mapped[int] = mapped_column(default=0)
    not_reordered: Mapped[int] = mapped_column(default=0)
    not_revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    switched_off: Mapped[int] = mapped_column(default=0)
    unreachable: Mapped[int] = mapped_column(default=0)


class ReconnectResultMonth(db.Model):
    """The results chart's months per company: first messages by the month they went
    out, reconnected customers and revenue by the month of the reconnecting order."""

    __tablename__ = "reconnect_result_month"

    company_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first day
    contacted: Mapped[int] = mapped_column(default=0)
    reconnected: Mapped[int] = mapped_column(default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))


class ReminderResult(db.Model):
    """The results page's reorder reminder figures (R6) per product group and company,
    counted with ``ReconnectResult``: sent in the last 3 months, of them reordered and
    that revenue, held by the cap now, not sent in the period."""

    __tablename__ = "reminder_result"

    product_group_id: Mapped[int] = mapped_column(
        ForeignKey("product_group.id", ondelete="CASCADE"), primary_key=True
    )
    company_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sent: Mapped[int] = mapped_column(default=0)
    reordered: Mapped[int] = mapped_column(default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    held: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)

"""One cap for all marketing (PRODUCT.md R7): at most one marketing message per customer
in a configurable number of days, whatever sent it (queue, ReConnect, reminders)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import Message, MessageState, Setting
from ..models.bulk import among

CAP_KEY = "marketing_cap"
DEFAULT_DAYS = 7
# A marketing message in one of these states reached or will reach the customer.
COUNTED_STATES = (
    MessageState.QUEUED,
    MessageState.SENDING,
    MessageState.UNKNOWN,
    MessageState.SENT,
    MessageState.OUTBOX,
)


@dataclass(frozen=True)
class MarketingCap:
    days: int = DEFAULT_DAYS

    @classmethod
    def load(cls) -> MarketingCap:
        days = Setting.read(CAP_KEY).get("days", DEFAULT_DAYS)
        return cls(int(days))

    @property
    def on(self) -> bool:
        return self.days > 0

    def since(self, now: datetime) -> datetime:
        return now - timedelta(days=self.days)

    def last_within(self, customer_id: int, now: datetime) -> datetime | None:
        """When the customer's latest marketing message inside the cap was created."""
        if not self.on:
            return None
        return db.session.scalar(
            select(Message.created_at)
            .where(
                Message.customer_id == customer_id,
                Message.created_at >= self.since(now),
                Message.marketing.is_(True),
                Message.state.in_(COUNTED_STATES),
            )
            .order_by(Message.created_at.desc())
            .limit(1)
        )

    def last_within_many(self, customer_ids: Iterable[int], now: datetime) -> dict[int, datetime]:
        """:meth:`last_within` for many customers with one statement; customers without
        a marketing message inside the cap are left out."""
        customer_ids = list(set(customer_ids))
        if not self.on or not customer_ids:
            return {}
        rows = db.session.execute(
            select(Message.customer_id, func.max(Message.created_at))
            .where(
                Message.customer_id.in_(customer_ids),
                Message.created_at >= self.since(now),
                Message.marketing.is_(True),
                Message.state.in_(COUNTED_STATES),
            )
            .group_by(Message.customer_id)
        )
        return dict(rows.tuples().all())

    def sent_since(
        self, customer_ids: Iterable[int], skip_ids: Iterable[int], now: datetime
    ) -> dict[int, list[Sent]]:
        """Per customer, the marketing messages that went (or are going) out inside the
        cap, besides ``skip_ids`` (the batch being sent)."""
        found: dict[int, list[Sent]] = {}
        customer_ids, skip_ids = list(set(customer_ids)), list(skip_ids)
        if not self.on or not customer_ids:
            return found
        at = func.coalesce(Message.sent_at, Message.created_at)
        rows = db.session.execute(
            select(
                Message.customer_id,
                Message.id,
                Message.purpose,
                Message.case_id,
                Message.created_at,
                at,
            ).where(
                among(Message.customer_id, customer_ids),
                ~among(Message.id, skip_ids),
                Message.marketing.is_(True),
                Message.state_in(*SENT_STATES),
                at >= self.since(now),
            )
        )
        for customer_id, *values in rows:
            found.setdefault(customer_id, []).append(Sent(*values))
        return found

    def blocking(self, message: Message, sent: Iterable[Sent]) -> datetime | None:
        """When the latest of ``sent`` that is not one contact with ``message`` (its
        other channel) went out, or None: the cap allows ``message``."""
        times = [s.at for s in sent if not s.same_contact(message)]
        return max(times) if times else None


# What went out counts from when it went (``sent_at``), else from when it was stored.
SENT_STATES = (MessageState.SENDING, MessageState.UNKNOWN, MessageState.SENT, MessageState.OUTBOX)
# Messages of one purpose and case stored within this many seconds are one contact on
# several channels (email and SMS of "both"): one message for the cap.
SAME_CONTACT_SECONDS = 60
# The purposes the sending loop holds back while the cap forbids them: the automatic
# and bulk marketing. A salesperson's own email or SMS from the case page ("queue")
# counts toward the cap but is not held: a person decided to send it, looking at the
# case and its history; holding it for days would silently undo that decision.
HELD_PURPOSES = frozenset({"reconnect", "followup", "reminder", "newsletter"})
# Purposes whose messages have no case (the reorder reminder): for these, one purpose of
# one customer within the seconds above is one contact.
CONTACT_WITHOUT_CASE = frozenset({"reminder"})


@dataclass(frozen=True)
class Sent:
    id: int
    purpose: str
    case_id: int | None
    created_at: datetime
    at: datetime

    def same_contact(self, message: Message) -> bool:
        return (
            (self.case_id is not None or self.purpose in CONTACT_WITHOUT_CASE)
            and self.case_id == message.case_id
            and self.purpose == message.purpose
            and abs((self.created_at - message.created_at).total_seconds()) <= SAME_CONTACT_SECONDS
        )


@dataclass(frozen=True)
class Automatic:
    """What a feature tells the sending loop about its messages of one purpose.

    ``why_not(messages, now)``: why each message of the batch is no longer relevant, by
    message id (it records the decisions in the case history); the others are sent. The
    messages are read-only: the sending loop's claimed rows (the ``message`` columns as
    attributes, ``sending._CLAIMED``) or, offline, ``Message`` objects.
    ``next_send(at)``: the first moment at or after ``at`` it may go out (its send
    windows). ``on_hold(message,
    until)``: the message was held by the cap until then."""

    why_not: Callable[[list[Message], datetime], dict[int, str]]
    next_send: Callable[[datetime], datetime] = lambda at: at
    on_hold: Callable[[Message, datetime], None] = lambda message, until: None


AUTOMATIC: dict[str, Automatic] = {}


def register_automatic(purposes: Iterable[str], feature: Automatic) -> None:
    """Called by the feature's module when the app imports it (campaigns/jobs.py)."""
    for purpose in purposes:
        AUTOMATIC[purpose] = feature


def save_cap(days: int, user_id: int | None) -> MarketingCap:
    """Store the cap (0: off); the caller commits."""
    if not 0 <= days <= 365:
        raise ValueError(days)
    Setting.write(CAP_KEY, {"days": days}, user_id)
    return MarketingCap(days)

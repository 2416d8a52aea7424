"""One cap for all marketing (PRODUCT.md R7): at most one marketing message per customer
in a configurable number of days, whatever sent it (queue, ReConnect, reminders)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import Message, MessageState, Setting

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


def save_cap(days: int, user_id: int | None) -> MarketingCap:
    """Store the cap (0: off); the caller commits."""
    if not 0 <= days <= 365:
        raise ValueError(days)
    Setting.write(CAP_KEY, {"days": days}, user_id)
    return MarketingCap(days)

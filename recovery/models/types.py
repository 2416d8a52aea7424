"""Column types shared by all models: UTC times and money."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import DateTime, Numeric
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def business_tz() -> tzinfo:
    """The business's time zone (BABEL_DEFAULT_TIMEZONE): days are counted in it."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, on every database.

    SQLite has no time zones, so storing naive UTC everywhere keeps both databases
    identical; display converts to the business time zone.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


Money = Numeric(14, 2, asdecimal=True)
Quantity = Numeric(12, 3, asdecimal=True)
ZERO = Decimal("0.00")

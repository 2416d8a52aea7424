"""Column types shared by all models: UTC times and money."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import DateTime, Numeric
from sqlalchemy.types import TypeDecorator

# The largest id or count a column of ours holds (INTEGER on PostgreSQL and SQLite): a
# number from a URL or form past it would make the database refuse the statement.
DB_INT_MAX = 2**31 - 1


def whole_number(text: str | None) -> int | None:
    """``text`` as a whole number of 0 .. DB_INT_MAX; None if it is none (empty, letters,
    a sign, ``1e309``, ``inf``); ValueError if it is one past DB_INT_MAX."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    if value > DB_INT_MAX:
        raise ValueError(f"{text[:30]} is larger than {DB_INT_MAX}")
    return value


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

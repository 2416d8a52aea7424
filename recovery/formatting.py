"""Numbers, money and dates as Babel writes them, at a fraction of Babel's cost.

A list page shows some 300 amounts and dates and the analysis renders up to a million
reasons; Babel takes 30–100 µs per call. ``NumberFormat`` copies the locale's symbols and
patterns from Babel once, formats with Python's own ``format`` (``Decimal``, half-even
rounding – as Babel), and checks itself against Babel on a set of samples when it is
built: a locale whose pattern it does not reproduce (another grouping, the sign
elsewhere) goes through Babel for every value. ``tests/app/test_formatting.py``
compares both over thousands of random values.

Framework-free: the web layer passes the locale and time zone in (``recovery.i18n``).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import (
    format_currency,
    format_decimal,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
)

# Babel's default decimal pattern shows up to three decimals ("#,##0.###").
_SAMPLES = (
    0, 7, 999, 1000, 4200, 98765, 1234567, 10**9, -1, -1234567,
    Decimal("0.005"), Decimal("0.015"), Decimal("1234.565"), Decimal("-0.001"), 12.345, -99.995,
)  # fmt: skip


def _decimal(value) -> Decimal | None:
    """``value`` as a finite Decimal (floats via ``str`` as Babel does), else None."""
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


class NumberFormat:
    """Whole numbers, decimals and amounts in one locale and currency."""

    def __init__(self, locale: str, currency: str = "EUR"):
        self.locale = locale
        self.currency = currency
        pattern = Locale.parse(locale).currency_formats["standard"].pattern
        # whole currency units: drop the decimals of the locale's own pattern
        self.whole_money_pattern = pattern.split(";")[0].replace(".00", "")
        self._symbols = str.maketrans(
            {",": get_group_symbol(locale), ".": get_decimal_symbol(locale)}
        )
        self._minus = get_minus_sign_symbol(locale)
        # "{}" where the digits go, e.g. "{} €" or "€{}"
        self._money = format_currency(1234567.89, currency, locale=locale).replace(
            self._digits(Decimal("1234567.89"), 2), "{}", 1
        )
        self._whole_money = format_currency(
            1234567, currency, format=self.whole_money_pattern, locale=locale,
            currency_digits=False,
        ).replace(self._digits(Decimal(1234567), 0), "{}", 1)  # fmt: skip
        self.fast = True  # the fast path answers the check below
        self.fast = (
            "{}" in self._money
            and "{}" in self._whole_money
            and all(
                self.money(v) == format_currency(v, currency, locale=locale)
                and self.decimal(v) == format_decimal(v, locale=locale)
                and self.decimal(v, 1, 1) == format_decimal(v, format="#,##0.0", locale=locale)
                and self.whole_money(v) == self._babel_whole_money(round(v))
                for v in _SAMPLES
            )
        )

    def _digits(self, value: Decimal, decimals: int) -> str:
        """Absolute value with grouping and exactly ``decimals`` places, locale symbols."""
        return f"{abs(value):,.{decimals}f}".translate(self._symbols)

    def _sign(self, value: Decimal, text: str) -> str:
        return self._minus + text if value.is_signed() else text

    def decimal(self, value, least: int = 0, most: int = 3) -> str:
        """Like Babel's ``#,##0.###`` (or ``#,##0.0`` with least = most = 1)."""
        if not self.fast or (number := _decimal(value)) is None:
            pattern = "#,##0." + "0" * least + "#" * (most - least) if most else "#,##0"
            return format_decimal(value, format=pattern, locale=self.locale)
        text = f"{abs(number):,.{most}f}"
        if most > least:  # optional places: drop trailing zeros down to ``least``
            whole, _, fraction = text.partition(".")
            fraction = fraction.rstrip("0").ljust(least, "0")
            text = f"{whole}.{fraction}" if fraction else whole
        # Babel keeps the sign of a value that rounds to zero ("-0,0"): so do we.
        return self._sign(number, text.translate(self._symbols))

    def integer(self, value: float) -> str:
        return self.decimal(round(value), 0, 0)

    def money(self, value) -> str:
        """An amount with the currency's two decimals: "1.234,56 €", "€1,234.56"."""
        if not self.fast or (number := _decimal(value)) is None:
            return format_currency(value, self.currency, locale=self.locale)
        return self._sign(number, self._money.format(self._digits(number, 2)))

    def whole_money(self, value: float) -> str:
        """An amount in whole units: "1.234 €", "€1,234"."""
        n = round(value)
        if not self.fast:
            return self._babel_whole_money(n)
        text = self._whole_money.format(f"{abs(n):,}".translate(self._symbols))
        return self._minus + text if n < 0 else text

    def _babel_whole_money(self, value: int) -> str:
        return format_currency(
            value,
            self.currency,
            format=self.whole_money_pattern,
            locale=self.locale,
            currency_digits=False,
        )


@lru_cache(maxsize=32)
def number_format(locale: str, currency: str = "EUR") -> NumberFormat:
    return NumberFormat(locale, currency)


@lru_cache(maxsize=8)
def _month_names(locale: str) -> tuple[str, ...]:
    months = Locale.parse(locale).months["format"]["abbreviated"]
    return tuple(months[m] for m in range(1, 13))


@lru_cache(maxsize=8)
def _wide_month_names(locale: str) -> tuple[str, ...]:
    months = Locale.parse(locale).months["stand-alone"]["wide"]
    return tuple(months[m] for m in range(1, 13))


@lru_cache(maxsize=512)
def month_range(first: int, months: int, locale: str) -> str:
    """``months`` calendar months from month ``first`` (1–12), wrapping over the new year:
    "März–Juni", "November–Februar", "April" (Babel's full month names)."""
    names = _wide_month_names(locale)
    start = names[first - 1]
    if months <= 1:
        return start
    return f"{start}\u2013{names[(first + months - 2) % 12]}"


def month(value: date, locale: str) -> str:
    """Babel's ``MMM yyyy`` ("Jan. 2026" in German, "Jan 2026" in English)."""
    return f"{_month_names(locale)[value.month - 1]} {value.year:04d}"


def month_name(value: date, locale: str) -> str:
    """The month's short name alone ("Jan.", "Jan"), for chart axes with the year apart."""
    return _month_names(locale)[value.month - 1]


def local_day(value: date | datetime, tz: tzinfo) -> date:
    """The day of ``value`` in ``tz`` (the business's time zone); naive datetimes are UTC,
    as stored. A date is its own day."""
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).date()


def day(value: date | datetime, locale: str, tz: tzinfo) -> str:
    """German ``dd.mm.yyyy``, otherwise Babel's medium date ("Mar 5, 2026"), in ``tz``.

    The one date format of the app: pages, exports, reasons and message variables.
    """
    value = local_day(value, tz)
    if locale.startswith("de"):
        return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"
    if locale.startswith("en"):
        return f"{_month_names(locale)[value.month - 1]} {value.day}, {value.year}"
    return format_date(value, "medium", locale=locale)


def country_name(code: str | None, locale: str = "de") -> str:
    """``DE`` → ``Deutschland`` (in the customer's language); other text stays as it is."""
    code = (code or "").strip()
    if len(code) != 2:
        return code
    names = _territories(locale)
    return names.get(code.upper(), code) if names is not None else code


@lru_cache(maxsize=16)
def _territories(locale: str) -> dict[str, str] | None:
    """The country names of a locale, parsed once (a serial message names 100 000)."""
    try:
        return dict(Locale.parse(locale.replace("-", "_")).territories)
    except (UnknownLocaleError, ValueError):
        return None


# German letters spelled out for names that must be plain ASCII (file names, keys).
UMLAUTS = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)

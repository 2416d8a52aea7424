"""recovery.formatting writes exactly what Babel writes, over thousands of values."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from recovery import formatting


def _values(seed: int) -> list:
    rng = random.Random(seed)
    values: list = [0, -0.0, Decimal("-0"), 1, -1, 10**12, Decimal("0.005"), Decimal("-0.015")]
    for _ in range(3000):
        scale = 10 ** rng.randint(-3, 9)
        raw = rng.uniform(-1, 1) * scale
        values.append(raw)  # floats, as pandas hands them over
        values.append(Decimal(f"{raw:.{rng.randint(0, 4)}f}"))  # Numeric columns
        values.append(round(raw))
        # exact halves, where the rounding rule shows
        values.append(Decimal(rng.randint(-(10**6), 10**6)) / 1000 + Decimal("0.0005"))
    return values


@pytest.mark.parametrize("locale", ["de", "en"])
def test_numbers_and_money_equal_babel(locale):
    fmt = formatting.number_format(locale, "EUR")
    assert fmt.fast
    for value in _values(11):
        assert fmt.money(value) == format_currency(value, "EUR", locale=locale), value
        assert fmt.decimal(value) == format_decimal(value, locale=locale), value
        assert fmt.decimal(value, 1, 1) == format_decimal(value, "#,##0.0", locale=locale), value


def test_a_locale_it_does_not_reproduce_goes_through_babel():
    # Swiss German groups with a typographic apostrophe and writes "CHF 1’234.56".
    fmt = formatting.number_format("de_CH", "CHF")
    for value in (Decimal("1234.56"), -1234.5, 0.125):
        assert fmt.money(value) == format_currency(value, "CHF", locale="de_CH")
        assert fmt.decimal(value) == format_decimal(value, locale="de_CH")


def test_not_a_number_goes_through_babel():
    fmt = formatting.number_format("de", "EUR")
    assert fmt.decimal(float("nan")) == format_decimal(float("nan"), locale="de")
    assert fmt.money(Decimal("Infinity")) == format_currency(
        Decimal("Infinity"), "EUR", locale="de"
    )


@pytest.mark.parametrize("locale", ["de", "en"])
def test_days_equal_babel_in_the_business_time_zone(locale):
    tz = ZoneInfo("Europe/Berlin")
    rng = random.Random(5)
    pattern = "dd.MM.yyyy" if locale == "de" else "medium"
    start = datetime(2019, 1, 1, tzinfo=UTC)
    for _ in range(2000):
        moment = start + timedelta(seconds=rng.randint(0, 8 * 365 * 86400))
        # what the filters did before: flask_babel moves a datetime into the zone first
        local = format_date(moment.astimezone(tz), pattern, locale=locale)
        assert formatting.day(moment, locale, tz) == local
        naive = moment.replace(tzinfo=None)  # naive means UTC, for Babel and for us
        assert formatting.day(naive, locale, tz) == local
        if locale == "de":
            assert local == format_datetime(moment, pattern, tzinfo=tz, locale=locale)
        assert formatting.day(moment.date(), locale, tz) == format_date(
            moment.date(), pattern, locale=locale
        )
    # 23:30 UTC on 31 March is already 1 April in Berlin
    assert formatting.day(datetime(2026, 3, 31, 22, 30, tzinfo=UTC), "de", tz) == "01.04.2026"
    assert formatting.day(date(2026, 3, 5), "en", tz) == "Mar 5, 2026"


@pytest.mark.parametrize("locale", ["de", "en", "fr"])
def test_months_equal_babel(locale):
    for year in (987, 2026):
        for m in range(1, 13):
            value = date(year, m, 1)
            assert formatting.month(value, locale) == format_date(value, "MMM yyyy", locale=locale)
    assert formatting.month(date(2026, 3, 1), "de") == "März 2026"
    assert formatting.month(date(2026, 1, 1), "en") == "Jan 2026"


def test_a_moment_reads_the_same_way_in_german_and_english(app):
    """Date and time to the minute in both languages (English had seconds: "1:07:06 PM")."""
    from flask_babel import force_locale

    from recovery.i18n import moment

    value = datetime(2026, 12, 7, 12, 7, 6)  # stored UTC; 13:07 in Berlin
    with app.test_request_context():
        with force_locale("de"):
            assert moment(value) == "07.12.2026 13:07"
        with force_locale("en"):
            assert moment(value).replace("\u202f", " ") == "Dec 7, 2026, 1:07 PM"

"""A5 reasons in German and English; the fast number path equals Babel."""

import pytest
from babel.numbers import format_currency, format_decimal

from recovery.analysis import exclusion_label, explain
from recovery.analysis.reasons import number_format, render_part

DECLINE = {
    "current_revenue": 4200.0,
    "reference_revenue": 9800.0,
    "decline_pct": 57.1,
    "window_months": 12,
    "comparison": "previous_period",
    "currency": "EUR",
}
OVERDUE = {"typical_interval_days": 34.4, "days_since_last_order": 81, "order_days": 6}


def test_decline_in_german_and_english():
    assert explain("decline", DECLINE, "de") == (
        "Umsatz 4.200\xa0€ in den letzten 12 Monaten gegenüber 9.800\xa0€ in den 12 Monaten "
        "davor (\u221257\xa0%)"
    )
    assert explain("decline", DECLINE, "en") == (
        "revenue €4,200 in the last 12 months vs €9,800 in the 12 months before (\u221257%)"
    )


def test_one_month_and_same_period_last_year():
    params = {**DECLINE, "window_months": 1, "comparison": "same_period_last_year"}
    assert explain("decline", params, "de") == (
        "Umsatz 4.200\xa0€ im letzten Monat gegenüber 9.800\xa0€ im gleichen Zeitraum des "
        "Vorjahres (\u221257\xa0%)"
    )
    params["comparison"] = "previous_period"
    assert explain("decline", params, "en_GB") == (
        "revenue €4,200 in the last month vs €9,800 in the month before (\u221257%)"
    )


def test_overdue_texts_and_plurals():
    assert explain("overdue", OVERDUE, "de") == (
        "bestellt im Schnitt alle 34 Tage; letzte Bestellung vor 81 Tagen"
    )
    assert explain("overdue", OVERDUE, "en") == (
        "orders every 34 days on average; last order 81 days ago"
    )
    daily = {**OVERDUE, "typical_interval_days": 0.7, "days_since_last_order": 1}
    assert (
        explain("overdue", daily, "de")
        == "bestellt im Schnitt täglich; letzte Bestellung vor 1 Tag"
    )
    assert explain("overdue", daily, "en") == "orders every day on average; last order 1 day ago"
    long = {**OVERDUE, "days_since_last_order": 1234}
    assert explain("overdue", long, "de").endswith("vor 1.234 Tagen")
    assert explain("overdue", long, "en").endswith("1,234 days ago")


def test_combined_key_joins_the_parts():
    text = explain("decline+overdue", {**DECLINE, **OVERDUE}, "de")
    assert text == explain("decline", DECLINE, "de") + "; " + explain("overdue", OVERDUE, "de")


def test_unknown_part_is_an_error():
    with pytest.raises(ValueError, match="unknown reason part 'magic'"):
        explain("decline+magic", {**DECLINE}, "de")


def test_negative_and_other_currencies_go_through_babel():
    params = {**DECLINE, "current_revenue": -150.4, "currency": "CHF"}
    text = explain("decline", params, "de")
    assert text.startswith("Umsatz -150\xa0CHF in den letzten 12 Monaten gegenüber 9.800\xa0CHF")


@pytest.mark.parametrize("locale", ["de", "en"])
def test_fast_number_path_equals_babel(locale):
    fmt = number_format(locale, "EUR")
    assert fmt.fast
    pattern = fmt.whole_money_pattern
    for value in [0, 1, 12, 999, 1000, 9999.5, 10000.49, 123456, 7654321.2, 10**12]:
        n = round(value)
        assert fmt.whole_money(value) == format_currency(
            n, "EUR", format=pattern, locale=locale, currency_digits=False
        )
        assert fmt.integer(value) == format_decimal(n, locale=locale)


def test_bulk_rendering_equals_explain_row_by_row():
    columns = {
        "current_revenue": [0.0, 120.5, 4200.0],
        "reference_revenue": [800.0, 1500.0, 9800.0],
        "decline_pct": [100.0, 91.97, 57.14],
        "window_months": 6,
        "comparison": "previous_period",
    }
    texts = render_part("decline", columns, 3, "en")
    for i, text in enumerate(texts):
        params = {k: (v[i] if isinstance(v, list) else v) for k, v in columns.items()}
        assert text == explain("decline", params, "en")


def test_exclusion_labels():
    assert exclusion_label("open_order", "de") == "offener Auftrag"
    assert exclusion_label("cancelled_only", "en") == "only cancelled or returned orders"
    assert exclusion_label("vip", "en") == "vip"

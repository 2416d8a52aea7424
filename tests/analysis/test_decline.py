"""A1 revenue decline, windows, month ends, time zones, states, net/gross."""

import pandas as pd
import pytest

from recovery.analysis import AnalysisSettings, score_customers
from recovery.analysis.decline import months_back, windows

from .builders import frame, line, row

TS = pd.Timestamp


def days(window):
    return (str(window.first_day.date()), str(window.end.date()))


@pytest.mark.parametrize(
    ("as_of", "months", "expected"),
    [
        ("2024-03-31", 1, "2024-02-29"),  # month end stays a month end
        ("2024-04-30", 2, "2024-02-29"),
        ("2024-04-30", 4, "2023-12-31"),  # not 30 December
        ("2025-02-28", 12, "2024-02-29"),
        ("2024-02-29", 12, "2023-02-28"),
        ("2024-03-15", 1, "2024-02-15"),
        ("2024-03-30", 1, "2024-02-29"),  # clipped, not a month end
    ],
)
def test_months_back(as_of, months, expected):
    assert months_back(TS(as_of), months) == TS(expected)


def test_windows_previous_period_and_same_period_last_year():
    cur, ref = windows(TS("2024-03-31"), 1, "previous_period")
    assert days(cur) == ("2024-03-01", "2024-03-31")
    assert days(ref) == ("2024-02-01", "2024-02-29")
    cur, ref = windows(TS("2024-03-31"), 1, "same_period_last_year")
    assert days(ref) == ("2023-03-01", "2023-03-31")
    cur, ref = windows(TS("2024-03-31"), 12, "previous_period")
    assert days(cur) == ("2023-04-01", "2024-03-31")
    assert days(ref) == ("2022-04-01", "2023-03-31")
    cur, ref = windows(TS("2024-05-15"), 3, "same_period_last_year")
    assert days(cur) == ("2024-02-16", "2024-05-15")
    assert days(ref) == ("2023-02-16", "2023-05-15")


def decline_history():
    return frame(
        # A: 1000 in 2 orders before, 400 now: -60 % -> flagged
        line("A", 1, "2022-05-10", 600),
        line("A", 2, "2022-11-20", 400),
        line("A", 3, "2023-06-01", 400),
        # B: reference revenue 400 < 500 -> not flagged although -100 %
        line("B", 4, "2022-06-01", 200),
        line("B", 5, "2022-07-01", 200),
        # C: one reference order only -> not flagged
        line("C", 6, "2022-06-01", 2000),
        # D: -25 % -> not flagged
        line("D", 7, "2022-06-01", 600),
        line("D", 8, "2022-08-01", 400),
        line("D", 9, "2023-08-01", 750),
        # E: exactly -30 % -> flagged (the thresholds are "at least")
        line("E", 10, "2022-06-01", 500),
        line("E", 11, "2022-08-01", 500),
        line("E", 12, "2023-08-01", 700),
        # F: grew -> not flagged
        line("F", 13, "2022-06-01", 500),
        line("F", 14, "2022-08-01", 500),
        line("F", 15, "2024-03-01", 2000),
    )


def test_decline_rule_by_hand():
    result = score_customers(decline_history(), "2024-03-31")
    flagged = set(result.loc[result["flag_decline"], "customer_id"])
    assert flagged == {"A", "E"}
    a = row(result, "A")
    assert (a.reference_revenue, a.current_revenue, a.reference_orders, a.current_orders) == (
        1000,
        400,
        2,
        1,
    )
    assert a.decline_pct == pytest.approx(60.0)
    assert row(result, "E").decline_pct == pytest.approx(30.0)
    assert row(result, "D").decline_pct == pytest.approx(25.0)
    assert row(result, "F").decline_pct == pytest.approx(-100.0)
    assert row(result, "C").decline_pct == pytest.approx(100.0)  # but only one order
    # A also ordered about every 194 days and is 304 days quiet: overdue as well
    assert a.reason_key == "decline+overdue"
    assert a.reason.startswith(
        "Umsatz 400\xa0€ in den letzten 12 Monaten gegenüber 1.000\xa0€ in den 12 Monaten "
        "davor (\u221260\xa0%)"
    )


def test_thresholds_follow_settings():
    settings = AnalysisSettings(
        min_decline_pct=20, min_reference_revenue=300, min_reference_orders=1
    )
    result = score_customers(decline_history(), "2024-03-31", settings)
    assert set(result.loc[result["flag_decline"], "customer_id"]) == {"A", "B", "C", "D", "E"}


def test_window_edges_with_29_february():
    lines = frame(
        line("A", 1, "2024-02-29 12:00", 100),  # last day of the reference month
        line("A", 2, "2024-02-01 00:00", 100),  # first day of the reference month
        line("A", 3, "2024-01-31 23:59", 1000),  # before the reference window
        line("A", 4, "2024-03-01 00:00", 10),  # first day of the current month
        line("A", 5, "2024-03-31 23:59", 20),  # as_of day counts entirely
        line("A", 6, "2024-04-01 00:00", 5000),  # after as_of: ignored
    )
    settings = AnalysisSettings(window_months=1, min_reference_revenue=0)
    a = row(score_customers(lines, "2024-03-31", settings), "A")
    assert (a.reference_revenue, a.current_revenue) == (200, 30)
    assert a.orders == 5  # the April order does not exist yet
    assert a.last_order == TS("2024-03-31")


def test_window_across_a_leap_day_year_back():
    lines = frame(
        line("A", 1, "2024-02-29", 700),  # reference: the window starts 1 March 2024
        line("A", 2, "2023-03-01", 300),  # first reference day
        line("A", 3, "2023-02-28", 9999),  # outside
        line("A", 4, "2024-03-01", 100),  # first current day
    )
    a = row(score_customers(lines, "2025-02-28"), "A")
    assert (a.reference_revenue, a.current_revenue) == (1000, 100)
    assert bool(a.flag_decline)


def test_same_period_last_year():
    lines = frame(
        # Christmas business: Oct–Dec 2022 strong, Oct–Dec 2023 weak, summer irrelevant
        line("A", 1, "2022-11-10", 800),
        line("A", 2, "2022-12-10", 700),
        line("A", 3, "2023-08-01", 5000),
        line("A", 4, "2023-11-15", 300),
    )
    settings = AnalysisSettings(window_months=3, comparison="same_period_last_year")
    a = row(score_customers(lines, "2023-12-31", settings), "A")
    assert (a.reference_revenue, a.current_revenue) == (1500, 300)
    assert a.decline_pct == pytest.approx(80.0)
    assert a.reason.endswith("im gleichen Zeitraum des Vorjahres (\u221280\xa0%)")
    previous = row(score_customers(lines, "2023-12-31", AnalysisSettings(window_months=3)), "A")
    assert previous.reference_revenue == 5000  # July–September 2023


def test_cancelled_and_returned_never_count_open_does_not_count_as_revenue():
    lines = frame(
        line("A", 1, "2022-05-10", 600),
        line("A", 2, "2022-11-20", 400),
        line("A", 3, "2022-12-01", 5000, state="cancelled"),
        line("A", 4, "2022-12-02", 5000, state="returned"),
        line("A", 5, "2023-06-01", 400, state="completed"),
        line("A", 6, "2023-07-01", 900, state="open"),
    )
    a = row(score_customers(lines, "2024-03-31", AnalysisSettings(exclude_open_orders=False)), "A")
    assert (a.reference_revenue, a.reference_orders, a.current_revenue, a.orders) == (
        1000,
        2,
        400,
        3,
    )
    assert bool(a.flag_decline)


def test_gross_basis_falls_back_to_net_where_gross_is_missing():
    lines = frame(
        line("A", 1, "2022-05-10", 600, gross=714),
        line("A", 2, "2022-11-20", 400, gross=476),
        line("A", 3, "2023-06-01", 400),  # no gross amount: the net amount counts
    )
    net = row(
        score_customers(lines, "2024-03-31", AnalysisSettings(min_reference_revenue=1100)), "A"
    )
    assert net.reference_revenue == 1000 and not net.flag_decline
    settings = AnalysisSettings(min_reference_revenue=1100, amount_basis="gross")
    gross = row(score_customers(lines, "2024-03-31", settings), "A")
    assert (gross.reference_revenue, gross.current_revenue) == (1190, 400)
    assert gross.decline_pct == pytest.approx((1190 - 400) / 1190 * 100)
    assert bool(gross.flag_decline)


def test_time_zones_are_converted_to_utc_days():
    lines = frame(
        line("A", 1, "2024-04-01 01:30", 10),  # 23:30 UTC on 31 March: counts
        line("A", 2, "2024-04-01 02:30", 20),  # 00:30 UTC on 1 April: after as_of
        tz="Europe/Berlin",
    )
    a = row(score_customers(lines, "2024-03-31"), "A")
    assert (a.current_revenue, a.orders, a.last_order) == (10, 1, TS("2024-03-31"))
    aware_as_of = pd.Timestamp("2024-04-01 01:00", tz="Europe/Berlin")  # 23:00 UTC, 31 March
    assert row(score_customers(lines, aware_as_of), "A").orders == 1
    naive = frame(line("A", 1, "2024-03-31 23:59:59", 10), line("A", 2, "2024-04-01 00:00", 20))
    assert row(score_customers(naive, "2024-03-31"), "A").orders == 1

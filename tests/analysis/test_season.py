"""Seasonal customers and product groups (PRODUCT.md A8, issue 17 part 3).

Detection on small hand-made histories, and the verdict on a frozen ``as_of`` day:
not overdue out of season, flagged when a season passes without an order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recovery.analysis import AnalysisSettings, explain, score_customer_groups, score_customers
from recovery.analysis.prepare import day_number
from recovery.analysis.season import find_seasons

from .builders import every, frame, line, row

DEFAULT = AnalysisSettings()
NO_SEASONS = AnalysisSettings(season_max_months=0)


def _days(*dates: str) -> np.ndarray:
    return np.array([day_number(pd.Timestamp(d)) for d in sorted(dates)], dtype=np.int32)


def season_of(*dates: str, **settings) -> tuple[int, int, float]:
    """(start month, months, in-season interval) of one unit ordering on ``dates``."""
    kw = {"min_years": 2, "max_months": 4, "min_share": 90.0, **settings}
    day = _days(*dates)
    s = find_seasons(np.zeros(len(day), dtype=np.int32), day, 1, **kw)
    return int(s.start[0]), int(s.months[0]), float(s.spread(s.interval)[0])


GARDEN = [f"{y}-{m:02d}-{d:02d}" for y in (2022, 2023, 2024) for m, d in ((3, 5), (4, 4), (6, 3))]


def test_garden_customer_has_the_season_march_to_june():
    start, months, interval = season_of(*GARDEN)
    assert (start, months) == (3, 4)
    # gaps inside one season only: 30 and 60 days, never the winter gap
    assert interval == pytest.approx(np.mean([30, 60, 30, 60, 30, 60]), abs=1)


def test_christmas_buyer_with_one_order_a_year_is_seasonal():
    assert season_of("2023-11-20", "2024-12-10")[:2] == (11, 2)
    assert np.isnan(season_of("2023-11-20", "2024-12-10")[2])  # no gap within a season


def test_a_season_over_the_new_year_counts_by_the_year_it_starts():
    assert season_of("2022-12-15", "2023-01-10", "2023-12-20")[:2] == (12, 2)
    # December 2022 and January 2023 are one season, not two years
    assert season_of("2022-12-15", "2023-01-10")[:2] == (0, 0)


@pytest.mark.parametrize(
    "dates",
    [
        pytest.param(
            [str(d.date()) for d in pd.date_range("2022-01-10", "2024-12-31", freq="30D")],
            id="every 30 days",
        ),
        pytest.param(["2024-03-05", "2024-04-04", "2024-05-04", "2024-06-03"], id="one year"),
        pytest.param(["2022-04-01", "2022-10-01", "2023-04-01", "2023-10-01"], id="twice a year"),
        pytest.param(["2022-03-01", "2022-08-01", "2023-03-01", "2023-08-01"], id="six months"),
    ],
)
def test_not_seasonal(dates):
    assert season_of(*dates)[:2] == (0, 0)


def test_thresholds_are_settings():
    nine_of_ten = [*GARDEN, "2024-09-10"]  # one order of ten outside the season
    assert season_of(*nine_of_ten)[:2] == (3, 4)
    assert season_of(*nine_of_ten, min_share=95)[:2] == (0, 0)
    assert season_of(*GARDEN, min_years=3)[:2] == (3, 4)
    assert season_of(*GARDEN, min_years=4)[:2] == (0, 0)
    assert season_of(*GARDEN, max_months=3)[:2] == (0, 0)
    assert season_of(*GARDEN, max_months=0)[:2] == (0, 0)


def test_many_units_at_once_match_one_at_a_time():
    histories = [GARDEN, ["2023-11-20", "2024-12-10"], ["2022-01-01", "2022-07-01", "2023-01-01"]]
    unit = np.concatenate([np.full(len(h), i, dtype=np.int32) for i, h in enumerate(histories)])
    day = np.concatenate([_days(*h) for h in histories])
    s = find_seasons(unit, day, 4, min_years=2, max_months=4, min_share=90.0)
    assert s.start.tolist() == [3, 11, 0, 0]
    assert s.months.tolist() == [4, 2, 0, 0]


# -- the verdict on a frozen day --------------------------------------------------------


def garden(customer="G", years=(2022, 2023, 2024), group="Saatgut"):
    return [
        line(customer, f"{customer}{y}{m}", f"{y}-{m:02d}-{d:02d}", 100, group=group)
        for y in years
        for m, d in ((3, 5), (4, 4), (6, 3))
    ]


def test_not_overdue_out_of_season():
    lines = frame(*garden())
    g = row(score_customers(lines, "2024-12-15"), "G")
    assert g.seasonal and not g.in_season
    assert (g.season_start_month, g.season_months) == (3, 4)
    assert not g.flag_overdue
    assert g.expected_next_order == pd.Timestamp("2025-03-01")
    # the year-round rhythm (about 80 days) would call this customer overdue
    plain = row(score_customers(lines, "2024-12-15", NO_SEASONS), "G")
    assert plain.flag_overdue and not plain.seasonal


def test_flagged_when_a_season_passes_without_an_order():
    lines = frame(*garden())  # no order in March–June 2025
    on_last_day = row(score_customers(lines, "2025-06-30"), "G")
    assert on_last_day.in_season and not on_last_day.flag_overdue
    after = row(score_customers(lines, "2025-07-01"), "G")
    assert after.flag_overdue and not after.in_season
    assert after.reason == (
        "saisonal (März–Juni): in der letzten Saison keine Bestellung; "
        "letzte Bestellung vor 393 Tagen"
    )
    assert after.reason_key == "season"
    assert explain(after.reason_key, after.reason_params, "en") == (
        "seasonal (March–June): no order in the last season; last order 393 days ago"
    )
    # still flagged in the next season until an order comes
    assert row(score_customers(lines, "2026-04-01"), "G").flag_overdue
    ordered = frame(*garden(), line("G", "G2026", "2026-04-02", 100, group="Saatgut"))
    assert not row(score_customers(ordered, "2026-04-05"), "G").flag_overdue


def test_in_season_the_in_season_rhythm_counts():
    weekly = [
        line(
            "W",
            f"W{y}{k}",
            str((pd.Timestamp(f"{y}-03-02") + pd.Timedelta(days=14 * k)).date()),
            50,
        )
        for y in (2023, 2024)
        for k in range(8)  # every 14 days from early March to early June
    ]
    this_year = [line("W", "W25a", "2025-03-03", 50), line("W", "W25b", "2025-03-17", 50)]
    lines = frame(*weekly, *this_year)
    early = row(score_customers(lines, "2025-03-30"), "W")
    assert early.in_season and not early.flag_overdue
    assert early.expected_next_order == pd.Timestamp("2025-03-31")
    late = row(score_customers(lines, "2025-04-15"), "W")  # 29 days > 14 × 1.5
    assert late.flag_overdue
    assert late.reason == (
        "saisonal (März–Juni): bestellt in der Saison im Schnitt alle 14 Tage; "
        "letzte Bestellung vor 29 Tagen"
    )


def test_before_the_first_order_of_a_season_it_is_due_since_the_season_start():
    g = row(score_customers(frame(*garden()), "2025-05-20"), "G")
    assert g.in_season and not g.flag_overdue  # the 2024 season brought orders
    assert g.expected_next_order == pd.Timestamp("2025-03-01")


def test_a_seasonal_customer_compares_revenue_with_the_same_period_last_year():
    christmas = [
        line("X", "X22a", "2022-11-10", 800),
        line("X", "X22b", "2022-12-10", 700),
        line("X", "X23", "2023-11-15", 300),
    ]
    regular = [line("R", f"R{i}", f"2023-{m:02d}-10", 400) for i, m in enumerate(range(1, 13))]
    settings = AnalysisSettings(window_months=3)  # the months before: July–September
    result = score_customers(frame(*christmas, *regular), "2023-12-31", settings)
    x = row(result, "X")
    assert (x.reference_revenue, x.current_revenue) == (1500, 300)
    assert x.flag_decline
    assert x.reason == (
        "saisonal (November–Dezember): Umsatz 300\xa0€ in den letzten 3 Monaten gegenüber "
        "1.500\xa0€ im gleichen Zeitraum des Vorjahres (\u221280\xa0%); "
        # and late in season: 46 days since the last order, in season every 30 days
        "bestellt in der Saison im Schnitt alle 30 Tage; letzte Bestellung vor 46 Tagen"
    )
    assert x.reason_key == "decline+season"
    assert explain(x.reason_key, x.reason_params) == x.reason
    assert x.reason_params["comparison"] == "same_period_last_year"
    r = row(result, "R")  # not seasonal: the setting's comparison
    assert not r.seasonal and r.reference_revenue == 1200
    assert r.reason is None
    plain = row(score_customers(frame(*christmas), "2023-12-31", settings), "X")
    assert plain.seasonal  # a customer alone is judged the same way
    off = AnalysisSettings(window_months=3, season_max_months=0)
    assert row(score_customers(frame(*christmas), "2023-12-31", off), "X").reference_revenue == 0


def test_product_group_of_a_customer_has_its_own_season():
    coffee = [
        line("C", f"C{i}", str(d.date()), 30, group="Kaffee")
        for i, d in enumerate(pd.date_range("2022-01-05", "2024-12-20", freq="21D"))
    ]
    lines = frame(*coffee, *garden("C"))
    groups = score_customer_groups(lines, "2025-07-01").set_index("product_group")
    seeds, beans = groups.loc["Saatgut"], groups.loc["Kaffee"]
    assert seeds.seasonal and seeds.flag_overdue and (seeds.season_start_month == 3)
    assert seeds.reason_key == "group_season"
    assert seeds.reason.startswith(
        "„Saatgut“ saisonal (März–Juni): in der letzten Saison nicht bestellt; zuletzt vor"
    )
    assert not beans.seasonal
    assert not row(score_customers(lines, "2025-07-01"), "C").seasonal  # buys all year
    winter = score_customer_groups(lines, "2024-12-21").set_index("product_group")
    assert not winter.loc["Saatgut"].flag_overdue
    assert winter.loc["Saatgut"].expected_next_order == pd.Timestamp("2025-03-01")


def test_days_are_the_days_given_so_the_business_days():
    """The app hands in the business's wall clock (``cases.order_lines``); an order at
    00:30 on 1 March in Berlin is in the season March–June although it is February in
    UTC. Aware times are converted to UTC, as everywhere in the analyser."""
    dates = ["2023-03-01 00:30", "2023-04-10 10:00", "2024-03-01 00:30", "2024-04-10 10:00"]
    wall = frame(*[line("B", f"B{i}", d, 80) for i, d in enumerate(dates)])
    assert row(score_customers(wall, "2024-12-01"), "B").season_start_month == 3
    utc = wall.copy()
    utc["ordered_at"] = utc["ordered_at"].dt.tz_localize("Europe/Berlin")
    b = row(score_customers(utc, "2024-12-01"), "B")
    assert (b.season_start_month, b.season_months) == (2, 3)  # 28/29 Feb in UTC


def test_after_the_usual_orders_of_a_season_the_next_season_is_expected():
    twice = [
        line("X", f"X{y}{d}", f"{y}-11-{d:02d}", 60, group="Werkzeug")
        for y in (2022, 2023, 2024)
        for d in (3, 12)
    ]
    done = row(score_customers(frame(*twice), "2024-11-28"), "X")
    assert (done.season_start_month, done.season_months) == (11, 1)
    assert done.in_season and not done.flag_overdue
    assert done.expected_next_order == pd.Timestamp("2025-11-01")
    once = row(score_customers(frame(*twice[:-1]), "2024-11-28"), "X")  # no 12 Nov 2024
    assert once.flag_overdue  # 25 days since 3 Nov; in season every 9 days
    assert once.expected_next_order == pd.Timestamp("2024-11-12")
    assert once.reason.startswith("saisonal (November): bestellt in der Saison im Schnitt alle 9")


def test_two_order_days_are_not_enough_by_default():
    """Two random orders fall into the same four months more often than not."""
    lines = frame(line("X", 1, "2023-11-20", 90), line("X", 2, "2024-12-10", 90))
    assert not row(score_customers(lines, "2025-01-31"), "X").seasonal
    two = AnalysisSettings(season_min_order_days=2)
    assert row(score_customers(lines, "2025-01-31", two), "X").seasonal


def test_churn_probability_knows_whether_the_horizon_reaches_the_season():
    """P(no order in the next 180 days): near 1 when the horizon ends before the season,
    low before the season of a customer who ordered in every season so far."""
    others = [one for i in range(40) for one in every(f"R{i}", "2022-01-03", 20 + i, 60)]
    christmas = [
        line(c, f"{c}{y}{d}", f"{y}-{m}-{d:02d}", 120, group="Werkzeug")
        for c in ("X", "Y")
        for y in (2022, 2023, 2024)
        for m, d in (("11", 20), ("12", 5))
    ]
    lines = frame(*others, *christmas)
    spring = row(score_customers(lines, "2025-03-01"), "X")
    assert spring.seasonal
    assert spring.p_churn > 0.9
    assert spring.expected_orders == 0 and spring.revenue_at_risk == 0
    autumn = row(score_customers(lines, "2025-10-01"), "X")
    assert autumn.p_churn < 0.2
    assert autumn.expected_orders == pytest.approx(2)  # two order days in every season
    assert autumn.p_alive >= 1 - autumn.p_churn

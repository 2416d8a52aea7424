"""The demo's seasonal customers (issue 17 part 3): garden customers order March–June,
Christmas buyers November–December, in every season and never outside it. The analysis
does not flag them out of season and flags them once a season passes without an order
(the clock frozen after the export's last day: no order can come any more)."""

from __future__ import annotations

import pandas as pd
import pytest

from recovery.analysis import AnalysisSettings, score_customer_groups, score_customers

from .conftest import AS_OF, Demo

GARDEN, CHRISTMAS = (3, 4, 5, 6), (11, 12)
STATES = {"abgeschlossen": "completed", "offen": "open", "storniert": "cancelled"}


def analysis_lines(demo: Demo) -> pd.DataFrame:
    lines = demo.lines
    return pd.DataFrame(
        {
            "customer_id": lines["Kundennummer"],
            "order_id": lines["Auftragsnummer"],
            "ordered_at": lines["Datum"],
            "net_amount": lines["Netto"],
            "product_group": lines["Warengruppe"],
            "company": lines["Firma"],
            "state": lines["Status"].map({**STATES, "retoure": "returned"}),
            "customer_group": lines["Kundengruppe"],
        }
    )


@pytest.fixture(scope="module")
def seasons(demo: Demo) -> dict[str, tuple[int, ...]]:
    """Kundennummer → the months of the season the customer orders in."""
    orders = demo.orders[demo.orders["archetyp"] == "seasonal"]
    months = orders.groupby("kunde")["datum"].agg(lambda d: set(d.dt.month))
    return {k: GARDEN if m <= set(GARDEN) else CHRISTMAS for k, m in months.items()}


def of(frame: pd.DataFrame, customers) -> pd.DataFrame:
    return frame[frame["customer_id"].isin(list(customers))]


def assert_no_rhythm_flags(pairs: pd.DataFrame) -> None:
    """Out of season only a group's own season that passed without it flags a pair."""
    flagged = pairs[pairs["flag_overdue"]]
    assert (flagged["reason_key"] == "group_season").all()
    assert flagged["reason"].str.contains("in der letzten Saison nicht bestellt").all()
    assert len(flagged) <= 0.05 * len(pairs)


def test_seasonal_customers_order_in_every_season_and_only_then(demo: Demo, seasons):
    orders = demo.orders[demo.orders["archetyp"] == "seasonal"]
    assert len(seasons) == demo.stats.archetypes["seasonal"]
    kinds = pd.Series(seasons).map({GARDEN: "garden", CHRISTMAS: "christmas"}).value_counts()
    assert kinds["garden"] >= 0.4 * len(seasons) and kinds["christmas"] >= 0.2 * len(seasons)
    for customer, own in orders.groupby("kunde"):
        months = seasons[customer]
        assert own["datum"].dt.month.isin(months).all(), customer
        done = own[own["status"] == "abgeschlossen"]
        years = set(done["datum"].dt.year)
        assert years == set(range(min(years), max(years) + 1)), customer  # none skipped
        assert len(years) >= 2, customer


def test_recognised_with_their_season(demo: Demo, seasons):
    scored = of(score_customers(analysis_lines(demo), AS_OF), seasons)
    assert scored["seasonal"].all()
    for row in scored.itertuples():
        first, months = int(row.season_start_month), int(row.season_months)
        found = {(first - 1 + i) % 12 + 1 for i in range(months)}
        assert found <= set(seasons[row.customer_id]), row.customer_id


@pytest.mark.parametrize("as_of", ["2024-10-15", "2025-01-31", "2025-02-28"])
def test_garden_customers_are_not_flagged_out_of_season(demo: Demo, seasons, as_of):
    garden = [k for k, months in seasons.items() if months == GARDEN]
    lines = analysis_lines(demo)
    scored = of(score_customers(lines, as_of), garden)
    seasonal = scored[scored["seasonal"]]  # in 2024 some have one season only so far
    assert len(seasonal) >= 0.7 * len(garden)
    assert not seasonal["flag_overdue"].any()
    assert (seasonal["expected_next_order"] > pd.Timestamp(as_of)).all()
    pairs = of(score_customer_groups(lines, as_of), seasonal["customer_id"])
    assert_no_rhythm_flags(pairs)
    # the same customers measured by their year-round rhythm: many would be "overdue"
    plain = of(score_customers(lines, as_of, AnalysisSettings(season_max_months=0)), garden)
    assert plain["flag_overdue"].sum() >= 0.3 * len(garden)


def test_christmas_buyers_are_not_flagged_in_summer(demo: Demo, seasons):
    christmas = [k for k, months in seasons.items() if months == CHRISTMAS]
    lines = analysis_lines(demo)
    scored = of(score_customers(lines, AS_OF), christmas)
    assert scored["seasonal"].all() and not scored["flag_overdue"].any()
    assert not scored["in_season"].any()
    assert (scored["expected_next_order"] >= pd.Timestamp("2025-11-01")).all()
    assert_no_rhythm_flags(of(score_customer_groups(lines, AS_OF), christmas))


def test_flagged_when_a_season_passes_without_an_order(demo: Demo, seasons):
    """The export ends on 30.06.2025: as of 15.01.2026 the Christmas season 2025 has
    passed without an order, as of 15.07.2026 the garden season 2026 too."""
    lines = analysis_lines(demo)
    garden = [k for k, months in seasons.items() if months == GARDEN]
    christmas = [k for k, months in seasons.items() if months == CHRISTMAS]
    winter = score_customers(lines, "2026-01-15")
    assert of(winter, christmas)["flag_overdue"].all()
    assert not of(winter, garden)["flag_overdue"].any()  # their season is still to come
    reasons = of(winter, christmas)["reason"]
    assert reasons.str.contains(r"^saisonal \((?:November|Dezember|November–Dezember)\): ").all()
    # alone, or after the decline of the revenue (same period last year)
    assert reasons.str.contains("in der letzten Saison keine Bestellung").all()
    summer = of(score_customers(lines, "2026-07-15"), garden)
    assert summer["flag_overdue"].all()
    assert summer["reason"].str.startswith("saisonal (").all()
    assert (summer["reason"].str.contains("März–Juni")).mean() >= 0.5
    pairs = of(score_customer_groups(lines, "2026-07-15"), garden)
    main = pairs.sort_values("order_days").groupby("customer_id").tail(1)
    assert main["flag_overdue"].all()
    assert (main["reason_key"] == "group_season").all()

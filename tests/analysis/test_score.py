"""score_customers: result shape, exclusions (A4), model fallbacks, reasons (A5)."""

import json

import numpy as np
import pandas as pd
import pytest

from recovery.analysis import AnalysisSettings, explain, score_customers

from .builders import every, frame, line, row

COLUMNS = [
    "customer_id",
    "orders",
    "first_order",
    "last_order",
    "days_since_last_order",
    "typical_interval_days",
    "expected_next_order",
    "p_churn",
    "expected_revenue",
    "revenue_at_risk",
    "reference_revenue",
    "current_revenue",
    "decline_pct",
    "flag_decline",
    "flag_overdue",
    "excluded_reason",
    "reason",
    "reason_key",
    "reason_params",
    "company",
    "last_product_group",
]
AS_OF = "2024-03-31"
DECLINING = [
    line("D", 1, "2022-05-10", 600),
    line("D", 2, "2022-11-20", 400),
    line("D", 3, "2023-06-01", 400),
]


def test_one_row_per_customer_with_the_documented_columns():
    lines = frame(
        *DECLINING,
        line("once", 4, "2024-01-15", 80),
        line("void", 5, "2023-01-01", 300, state="cancelled"),
        line("void", 6, "2023-02-01", 200, state="returned"),
        line("future", 7, "2024-05-01", 90),
    )
    result = score_customers(lines, AS_OF)
    assert set(COLUMNS) <= set(result.columns)
    assert sorted(result["customer_id"]) == ["D", "once", "void"]  # 'future' is not known yet
    once = row(result, "once")
    assert (once.orders, once.days_since_last_order) == (1, 76)
    assert once.first_order == once.last_order == pd.Timestamp("2024-01-15")
    assert pd.isna(once.excluded_reason)
    assert 0 < once.p_churn < 1
    void = row(result, "void")
    assert void.orders == 0 and void.excluded_reason == "cancelled_only"
    assert pd.isna(void.last_order) and pd.isna(void.days_since_last_order)
    assert pd.isna(void.p_churn) and not void.flag_decline and not void.flag_overdue


def test_exclusions_and_their_order():
    lines = frame(
        *DECLINING,
        *[{**x, "customer_id": "open"} for x in DECLINING],
        line("open", "o", "2024-03-30", 50, state="open"),
        *[{**x, "customer_id": "dealer", "customer_group": "Händler"} for x in DECLINING],
        *[{**x, "customer_id": "shopB", "company": "Shop B"} for x in DECLINING],
        *[{**x, "customer_id": "asked"} for x in DECLINING],
        line("only_open", "oo", "2024-03-01", 10, state="open"),
    )
    settings = AnalysisSettings(exclude_customer_groups=("Händler",), exclude_companies=("Shop B",))
    result = score_customers(
        lines, AS_OF, settings, excluded={"asked": "no_interest", "nobody": "x"}
    )
    reasons = result.set_index("customer_id")["excluded_reason"].to_dict()
    assert reasons == {
        "D": None,
        "open": "open_order",
        "dealer": "customer_group",
        "shopB": "company",
        "asked": "no_interest",
        "only_open": "open_order",
    }
    assert set(result.loc[result["flag_decline"], "customer_id"]) == {"D"}
    assert not result.loc[result["excluded_reason"].notna(), "flag_overdue"].any()
    # the open order does not count as revenue
    assert row(result, "open").current_revenue == 400
    # without the open-order rule the customer is flagged; an empty reason means "excluded"
    settings = AnalysisSettings(exclude_open_orders=False)
    result = score_customers(lines, AS_OF, settings, excluded={"asked": None})
    assert row(result, "open").flag_decline
    assert row(result, "only_open").excluded_reason == "no_orders"
    assert row(result, "asked").excluded_reason == "excluded"


def test_include_lists_keep_only_the_named_groups_and_companies():
    lines = frame(
        *DECLINING,
        *[{**x, "customer_id": "dealer", "customer_group": "Händler"} for x in DECLINING],
        *[{**x, "customer_id": "nogroup", "customer_group": None} for x in DECLINING],
        *[{**x, "customer_id": "shopB", "company": "Shop B"} for x in DECLINING],
    )
    result = score_customers(lines, AS_OF, AnalysisSettings(include_customer_groups=("Händler",)))
    reasons = result.set_index("customer_id")["excluded_reason"].to_dict()
    assert reasons == {
        "D": "customer_group",
        "dealer": None,
        "nogroup": "customer_group",
        "shopB": "customer_group",
    }
    result = score_customers(lines, AS_OF, AnalysisSettings(include_companies=("Shop B",)))
    assert set(result.loc[result["excluded_reason"].isna(), "customer_id"]) == {"shopB"}


def test_company_and_last_product_group_come_from_the_last_order():
    lines = frame(
        line("A", 1, "2023-01-01", 500, group="Tee", company="Shop A"),
        line("A", 2, "2024-02-01", 30, group="Tee", company="Shop B"),
        line("A", 2, "2024-02-01", 50, group="Kaffee", company="Shop B"),
        line("A", 2, "2024-02-01", 25, group="Tee", company="Shop B"),  # Tee: 55 > 50
        line("A", 3, "2024-03-01", 999, group="Kakao", company="Shop C", state="cancelled"),
    )
    a = row(score_customers(lines, AS_OF), "A")
    assert (a.company, a.last_product_group, a.orders) == ("Shop B", "Tee", 2)


def test_order_ids_shared_by_two_customers_are_two_orders():
    lines = frame(line("A", 1, "2024-01-01", 10), line("B", 1, "2024-02-01", 20))
    result = score_customers(lines, AS_OF)
    assert result.set_index("customer_id")["orders"].to_dict() == {"A": 1, "B": 1}
    assert row(result, "B").last_order == pd.Timestamp("2024-02-01")


def test_integer_and_string_ids_give_the_same_result():
    lines = frame(*DECLINING, line("E", 9, "2024-01-01", 70))
    by_str = score_customers(lines, AS_OF)
    ints = lines.assign(customer_id=lines["customer_id"].map({"D": 10**9, "E": 5}))
    by_int = score_customers(ints, AS_OF)
    assert by_int.set_index("customer_id").loc[10**9, "decline_pct"] == pytest.approx(60)
    assert by_str["orders"].sum() == by_int["orders"].sum()


def test_reasons_are_json_and_re_render_in_both_languages():
    lines = frame(*DECLINING)
    d = row(score_customers(lines, AS_OF, AnalysisSettings(overdue_tolerance=5)), "D")
    assert d.reason_key == "decline"
    stored = json.loads(json.dumps(d.reason_params, allow_nan=False))
    assert explain(d.reason_key, stored, "de") == d.reason
    assert explain(d.reason_key, stored, "en") == (
        "revenue €400 in the last 12 months vs €1,000 in the 12 months before (\u221260%)"
    )
    english = row(score_customers(lines, AS_OF, AnalysisSettings(locale="en")), "D")
    assert english.reason == explain(english.reason_key, english.reason_params, "en")
    assert english.reason.endswith("; orders every 194 days on average; last order 304 days ago")


def test_unflagged_rows_have_no_reason():
    result = score_customers(frame(line("A", 1, "2024-03-01", 10)), AS_OF)
    a = row(result, "A")
    assert a.reason is None and a.reason_key is None and a.reason_params is None


def test_tiny_business_uses_the_rhythm_fallback():
    lines = frame(*every("A", "2023-01-01", 30, 10), *every("B", "2023-06-01", 60, 4))
    result = score_customers(lines, AS_OF)
    assert result.attrs["model"]["model"] == "rhythm"
    a = row(result, "A")
    h = AnalysisSettings().horizon_days
    assert a.p_churn == pytest.approx(np.exp(-h / a.typical_interval_days))
    assert a.expected_revenue == pytest.approx(h / a.typical_interval_days * 100)
    assert a.revenue_at_risk == pytest.approx(a.p_churn * a.expected_revenue)


def test_only_one_time_buyers_give_no_model_but_no_error():
    lines = frame(*[line(f"c{i}", i, f"2023-{1 + i % 12:02d}-15", 50) for i in range(60)])
    result = score_customers(lines, AS_OF)
    assert result.attrs["model"]["model"] == "rhythm"
    assert result["typical_interval_days"].isna().all()
    assert result["p_churn"].isna().all() and not result["flag_overdue"].any()
    with_default = score_customers(
        lines, AS_OF, AnalysisSettings(group_default_intervals={"Kaffee": 90})
    )
    assert with_default["p_churn"].notna().all()
    assert with_default["expected_next_order"].notna().all()


def test_expected_next_order_is_last_order_plus_typical_interval():
    lines = frame(*every("A", "2023-01-01", 30, 12))
    settings = AnalysisSettings(group_default_intervals={"Kaffee": 30})
    a = row(score_customers(lines, AS_OF, settings), "A")
    assert a.expected_next_order == a.last_order + pd.Timedelta(days=30)


def test_missing_columns_and_unknown_states_are_reported():
    with pytest.raises(ValueError, match="order_id"):
        score_customers(pd.DataFrame({"customer_id": [1]}), AS_OF)
    lines = frame(line("A", 1, "2024-01-01", 10, state="paid"))
    with pytest.raises(ValueError, match="unknown order state 'paid'"):
        score_customers(lines, AS_OF)


def test_no_lines_up_to_as_of_gives_an_empty_frame():
    lines = frame(line("A", 1, "2024-05-01", 10))
    result = score_customers(lines, AS_OF)
    assert result.empty and set(COLUMNS) <= set(result.columns)

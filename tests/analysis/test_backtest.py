"""A6 backtest metrics on a tiny history, checked by hand; ROC AUC by hand."""

import json
import math
from dataclasses import replace

import pandas as pd
import pytest

from recovery.analysis import AnalysisSettings, backtest, roc_auc, score_customers
from recovery.analysis.backtesting import calibration

from .builders import every, frame, line

AS_OF = "2024-03-31"


def test_auc_by_hand():
    # positives 0.35 and 0.8 vs negatives 0.1 and 0.4: 3 of 4 pairs ordered right
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    # a tie between a positive and a negative counts one half: (0.5 + 1 + 1 + 1) / 4
    assert roc_auc([0.5, 0.5, 0.2, 0.9], [True, False, False, True]) == pytest.approx(0.875)
    assert roc_auc([0.3, float("nan"), 0.1], [True, False, False]) == pytest.approx(1.0)
    assert math.isnan(roc_auc([0.3, 0.4], [True, True]))


def history():
    """Six customers; what they do after 31 March 2024 decides 'churned'."""
    quiet = {"company": "Shop A"}
    return frame(
        # 1 decline, comes back in the horizon
        line("dec_back", 1, "2022-05-10", 600),
        line("dec_back", 2, "2022-11-20", 400),
        line("dec_back", 3, "2023-06-01", 400),
        line("dec_back", 4, "2024-05-01", 100),
        # 2 decline, never comes back
        line("dec_gone", 5, "2022-05-10", 700),
        line("dec_gone", 6, "2022-11-20", 500),
        line("dec_gone", 7, "2023-06-01", 200),
        # 3 overdue (every 30 days, quiet for 60), never comes back
        *every("od_gone", "2023-03-03", 30, 11, amount=50, **quiet),
        # 4 regular and recent, comes back
        *every("ok_back", "2023-04-10", 30, 12, amount=80, **quiet),
        line("ok_back", 40, "2024-04-15", 80),
        # 5 regular and recent, does not come back (only a cancelled order)
        *every("ok_gone", "2023-04-12", 30, 12, amount=70, **quiet),
        line("ok_gone", 41, "2024-04-20", 70, state="cancelled"),
        # 6 a single order, no return
        line("single", 42, "2024-03-01", 10),
        # the data reach to the end of September 2024
        line("other", 43, "2024-09-30", 5),
    )


def test_backtest_by_hand():
    settings = AnalysisSettings(group_default_intervals={"Kaffee": 30})
    lines = history()
    scored = score_customers(lines, AS_OF, settings).set_index("customer_id")
    assert set(scored.index[scored["flag_decline"]]) == {"dec_back", "dec_gone"}
    assert set(scored.index[scored["flag_overdue"]]) == {"od_gone", "dec_back", "dec_gone"}

    result = backtest(lines, AS_OF, horizon_days=90, settings=settings)
    # population: the six customers with orders up to as_of ('other' starts later)
    assert result.population == 6
    assert result.churned == 4  # dec_gone, od_gone, ok_gone, single
    assert result.base_rate == pytest.approx(4 / 6)
    decline = result.rule("decline")
    assert (decline.flagged, decline.true_positives) == (2, 1)
    assert (decline.precision, decline.recall) == (pytest.approx(0.5), pytest.approx(0.25))
    # reference revenue = the 12 months up to as_of: dec_back 400, dec_gone 200
    assert (decline.reference_revenue, decline.lost_revenue) == (600, 200)
    overdue = result.rule("overdue")
    assert (overdue.flagged, overdue.true_positives) == (3, 2)
    assert overdue.recall == pytest.approx(0.5)
    any_flag = result.rule("any_flag")
    assert (any_flag.flagged, any_flag.true_positives) == (3, 2)

    pop = scored[scored["orders"] > 0]
    churned = pop.index.isin(["dec_gone", "od_gone", "ok_gone", "single"])
    assert result.auc_p_churn == pytest.approx(roc_auc(pop["p_churn"], churned))
    assert result.auc_days_since_last_order == pytest.approx(
        roc_auc(pop["days_since_last_order"].astype(float), churned)
    )
    # top 20 % of 6 customers = 2 customers with the highest revenue at risk
    reference = {
        "dec_back": 400,
        "dec_gone": 200,
        "od_gone": 500,
        "ok_back": 960,
        "ok_gone": 840,
        "single": 10,
    }
    top = pop["revenue_at_risk"].sort_values(ascending=False).index[:2]
    assert result.top_customers == 2
    assert result.reference_revenue == pytest.approx(sum(reference.values()))
    assert result.top_reference_revenue_share == pytest.approx(
        sum(reference[c] for c in top) / sum(reference.values())
    )
    lost = {c: v for c, v in reference.items() if c in ("dec_gone", "od_gone", "ok_gone", "single")}
    assert result.lost_revenue == pytest.approx(sum(lost.values()))
    assert result.top_lost_revenue_share == pytest.approx(
        sum(lost.get(c, 0) for c in top) / sum(lost.values())
    )
    # a six-customer shop gets the rhythm fallback: no BG/NBD to compare with
    assert result.model["model"] == "rhythm" and math.isnan(result.auc_bgnbd)
    assert sum(b.customers for b in result.calibration) == pop["p_churn"].notna().sum()
    at_90 = score_customers(lines, AS_OF, replace(settings, horizon_days=90))
    assert result.mean_p_churn == pytest.approx(at_90.loc[at_90["orders"] > 0, "p_churn"].mean())
    assert result.to_dict()["auc_bgnbd"] is None
    json.dumps(result.to_dict(), allow_nan=False)


def test_calibration_by_hand():
    p = [0.9, 0.1, 0.2, 0.8, float("nan"), 0.3]
    churned = [True, False, True, True, True, False]
    bins = calibration(p, churned, bins=2)
    # sorted by p: (0.1, 0.2, 0.3) and (0.8, 0.9); the NaN is left out
    assert [b.customers for b in bins] == [3, 2]
    assert bins[0].predicted == pytest.approx(0.2) and bins[0].observed == pytest.approx(1 / 3)
    assert bins[1].predicted == pytest.approx(0.85) and bins[1].observed == 1.0
    assert calibration([], []) == ()


def test_excluded_customers_are_left_out_of_the_population():
    lines = pd.concat([history(), frame(line("ok_back", 50, "2024-03-30", 10, state="open"))])
    result = backtest(lines, AS_OF, horizon_days=90)
    assert result.population == 5  # ok_back has an open order
    assert result.churned == 4


def test_horizon_past_the_data_is_refused():
    with pytest.raises(ValueError, match=r"ends on 2024-10-01, but the data end on 2024-09-30"):
        backtest(history(), AS_OF, horizon_days=184)
    assert (
        backtest(history(), AS_OF, horizon_days=183).horizon_end
        == pd.Timestamp("2024-09-30").date()
    )


def test_top_capture_by_hand():
    from recovery.analysis.metrics import top_capture

    score = [5.0, 1.0, 3.0, float("nan")]
    value = [10.0, 20.0, 30.0, 40.0]
    assert top_capture(score, value, 0.5) == pytest.approx(0.4)  # 5 and 3: (10 + 30) / 100
    assert top_capture(score, value, 0.1) == pytest.approx(0.1)  # ceil(0.4) = 1 customer
    assert top_capture(score, value, 1.0) == pytest.approx(1.0)  # the unscored one last
    assert top_capture([2.0, 2.0, 1.0], [1.0, 3.0, 6.0], 0.5) == pytest.approx(0.4)  # ties
    assert math.isnan(top_capture([float("nan")] * 2, [1.0, 2.0], 0.5))
    assert math.isnan(top_capture([1.0, 2.0], [0.0, 0.0], 0.5))


def test_ranking_by_hand():
    settings = AnalysisSettings(group_default_intervals={"Kaffee": 30})
    result = backtest(history(), AS_OF, horizon_days=90, settings=settings)
    # in (31 March, 29 June]: dec_back 100, ok_back 80 (ok_gone's order was cancelled)
    assert result.future_revenue == pytest.approx(180)
    rank = {m.ranking: m for m in result.ranking}
    assert list(rank) == ["expected_revenue", "revenue_at_risk", "past_revenue", "bgnbd_gg"]
    # 6 customers: top 10 % = 1, top 20 % = 2. By past revenue: ok_back 960, ok_gone 840
    past = rank["past_revenue"]
    assert past.top10_future == pytest.approx(80 / 180)
    assert past.top20_future == pytest.approx(80 / 180)
    # lost: dec_gone 200 + od_gone 500 + ok_gone 840 + single 10 = 1550
    assert past.top10_lost == 0.0
    assert past.top20_lost == pytest.approx(840 / 1550)
    # a six-customer shop has no BG/NBD: nothing to rank by
    assert all(math.isnan(v) for v in (rank["bgnbd_gg"].top10_future, rank["bgnbd_gg"].top20_lost))
    # the rhythm fallback's forecast: the interval's order rate × the own order value
    scored = score_customers(history(), AS_OF, replace(settings, horizon_days=90))
    top = scored.dropna(subset=["expected_revenue"]).nlargest(2, "expected_revenue")
    future = {"dec_back": 100.0, "ok_back": 80.0}
    held = sum(future.get(c, 0.0) for c in top["customer_id"])
    assert rank["expected_revenue"].top20_future == pytest.approx(held / 180)
    again = type(result).from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.ranking[2] == past and again.future_revenue == result.future_revenue
    assert again.calibration_uncalibrated == result.calibration_uncalibrated


def test_a_stored_result_from_before_the_ranking_still_reads():
    stored = backtest(history(), AS_OF, horizon_days=90).to_dict()
    for key in (
        "future_revenue",
        "ranking",
        "calibration_uncalibrated",
        "calibration_error_uncalibrated",
    ):
        stored.pop(key)
    old = type(backtest(history(), AS_OF, horizon_days=90)).from_dict(stored)
    assert old.ranking == () and old.calibration_uncalibrated == ()

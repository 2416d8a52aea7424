"""Calibration of p_churn (isotonic, Platt, scaling) and the time-split selection."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from recovery.analysis import backtest, roc_auc
from recovery.analysis import calibrate as cal
from recovery.analysis.calibrate import decile_error
from recovery.analysis.prepare import day_number, prepare
from recovery.analysis.selection import CAPTURE_MARGIN, choose_revenue, select, split_inputs

from .builders import demo_like_history, frame, line, read_demo_export


def test_isotonic_by_hand():
    # sorted by p: 0 | 1, 0 violate → pooled to 0.5 at p = 0.25 | 1
    c = cal.isotonic(np.array([0.3, 0.1, 0.4, 0.2]), np.array([False, False, True, True]))
    assert (c.kind, c.x, c.y) == ("isotonic", (0.1, 0.25, 0.4), (0.0, 0.5, 1.0))
    # between the blocks linearly, clipped outside; a thousandth of the raw value added
    got = c.apply(np.array([0.25, 0.175, 0.9, np.nan]))
    want = 0.999 * np.array([0.5, 0.25, 1.0]) + 0.001 * np.array([0.25, 0.175, 0.9])
    assert got[:3] == pytest.approx(want) and np.isnan(got[3])
    assert cal.Calibrator.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def _drawn(a: float, b: float, n: int = 20_000, seed: int = 0):
    """Raw scores and outcomes whose true probability is expit(a·logit(p) + b)."""
    rng = np.random.default_rng(seed)
    p = rng.beta(0.7, 0.9, n).clip(1e-4, 1 - 1e-4)
    return p, rng.random(n) < expit(a * logit(p) + b)


def test_platt_and_scaling_recover_the_distortion():
    p, y = _drawn(0.5, 0.4)
    platt = cal.platt(p, y)
    assert platt.a == pytest.approx(0.5, abs=0.05) and platt.b == pytest.approx(0.4, abs=0.06)
    p, y = _drawn(0.5, 0.0)
    scaling = cal.scaling(p, y)
    assert scaling.a == pytest.approx(0.5, abs=0.05) and scaling.b == 0.0
    assert decile_error(scaling.apply(p), y) < decile_error(p, y) / 3
    # every kind keeps the order of the customers: the ROC AUC does not move
    for kind in (cal.isotonic(p, y), platt, scaling):
        assert roc_auc(kind.apply(p), y) == pytest.approx(roc_auc(p, y), abs=1e-12)


def test_forward_calibrates_only_what_held_in_the_next_period():
    # the model was over-confident in both periods: scaling learnt then helps now
    then, now = _drawn(0.5, 0.0, seed=1), _drawn(0.5, 0.0, seed=2)
    c, errors = cal.forward(*then, *now)
    assert c is not None and c.kind in cal.FITTERS
    assert errors[c.kind] < errors["raw"] / 2
    # pooled over both periods, and better on a third one than the raw score
    later = _drawn(0.5, 0.0, seed=3)
    assert decile_error(c.apply(later[0]), later[1]) < decile_error(*later) / 2
    # calibrated now, but not then: what was learnt then would only distort
    c, errors = cal.forward(*_drawn(0.3, 1.0, seed=1), *_drawn(1.0, 0.0, seed=2))
    assert c is None and errors["raw"] == min(errors.values())


def test_forward_needs_a_margin_to_calibrate_an_already_calibrated_score():
    # p_churn is the true probability: on 2,000 customers its decile error is noise
    # (0.02-0.03), and some calibrator "beats" it on the next sample by chance
    pairs = [
        (_drawn(1.0, 0.0, n=2000, seed=s), _drawn(1.0, 0.0, n=2000, seed=s + 10)) for s in (2, 3, 4)
    ]
    for then, now in pairs:
        chance, errors = cal.forward(*then, *now, margin=0.0)
        assert chance is not None
        assert 0 < errors["raw"] - errors[chance.kind] < cal.MARGIN
        # with the margin the raw p_churn stays
        assert cal.forward(*then, *now) == (None, errors)


def test_split_inputs_by_hand():
    lines = frame(
        line("a", 1, "2024-01-01", 10),
        line("a", 2, "2024-01-11", 20),
        line("a", 3, "2024-01-11", 5),  # same day: one order day
        line("a", 4, "2024-02-15", 40),  # after the split
        line("a", 5, "2024-02-20", 99, state="cancelled"),
        line("b", 6, "2024-01-05", 30),
        line("b", 7, "2024-02-10", 50, state="open"),  # came back, no revenue yet
        line("c", 8, "2024-01-20", 70),  # stays away
        line("d", 9, "2024-02-01", 60),  # first order after the split: not in the split
    )
    prep = prepare(lines, "2024-03-01")
    split = day_number(pd.Timestamp("2024-01-31"))
    inputs, churned, future, season = split_inputs(prep, split)
    assert inputs.n_days.tolist() == [2, 1, 1]  # a, b, c
    assert inputs.revenue.tolist() == [35, 30, 70]
    assert inputs.first_day_revenue.tolist() == [10, 30, 70]
    assert churned.tolist() == [False, False, True]
    assert future.tolist() == [40, 0, 0]
    assert not season.seasonal.any()
    # the outcome only up to the split's own horizon: a's order of 15 February is later
    end = day_number(pd.Timestamp("2024-02-12"))
    _, churned, future, _ = split_inputs(prep, split, end_day=end)
    assert churned.tolist() == [True, False, True]
    assert future.tolist() == [0, 0, 0]


def test_selection_on_a_demo_like_history_is_stored_as_json():
    lines = demo_like_history(2)
    prep = prepare(lines, "2024-06-30")
    split = select(prep, 180)
    d = split.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["reason"] is None and d["customers"] > 500
    assert set(d["auc"]) == {"bgnbd", "mbgnbd", "renewal"}
    # every forecast, and each with the seasonal customers' season (the history has some)
    plain = {"bgnbd", "mbgnbd", "renewal", "blend"}
    assert set(d["capture"]) == plain | {name + "+season" for name in plain}
    assert d["revenue_model"] in plain and d["calibrator"] is not None
    # the run's p_churn is the calibrated one; the model's own stays beside it
    from recovery.analysis import score_customers

    scored = score_customers(lines, "2024-06-30").dropna(subset=["p_churn"])
    assert scored.attrs["model"]["time_split"] == d
    assert scored.attrs["model"]["calibrated"] and d["calibrated_model"] == "renewal"
    assert not np.allclose(scored["p_churn"], scored["p_churn_uncalibrated"])
    # the split preferred the renewal model's forecast; the few customers found seasonal
    # here by chance were ranked better by the year-round p_churn at both splits, so
    # neither their p_churn nor their forecast comes from the season
    assert (d["revenue_model"], d["seasonal_revenue"], d["seasonal_churn"]) == (
        "renewal",
        False,
        False,
    )
    assert len(d["season_auc"]) == 2 and all(a > b for a, b in d["season_auc"])
    assert scored.attrs["model"]["model"] == "renewal"
    assert scored["seasonal"].astype(bool).any()
    assert not scored.attrs["model"]["seasonal_revenue"]
    assert not scored.attrs["model"]["seasonal_churn"]
    forecast = scored["p_alive"] * scored["expected_orders"] * scored["expected_spend"]
    assert np.allclose(scored["expected_revenue"], forecast)
    # calibration keeps the order (seasonal customers' p_churn is the season's outlook)
    kept = scored[~scored["seasonal"].astype(bool)]
    assert roc_auc(kept["p_churn"], kept["days_since_last_order"] > 60) == pytest.approx(
        roc_auc(kept["p_churn_uncalibrated"], kept["days_since_last_order"] > 60)
    )


def test_the_seasons_outlook_gives_p_churn_where_it_ranked_as_well_at_a_split():
    # here the chance "seasonal" customers' outlook ranked churners at least as well as the
    # year-round p_churn at both splits (seed 2, above: worse at both)
    lines = demo_like_history(5)
    d = select(prepare(lines, "2024-06-30"), 180).to_dict()
    assert d["seasonal_churn"] and len(d["season_auc"]) == 2
    assert all(season >= plain for plain, season in d["season_auc"])
    from recovery.analysis import score_customers

    model = score_customers(lines, "2024-06-30").attrs["model"]
    assert model["seasonal_churn"] and not model["seasonal_revenue"]


def test_the_revenue_forecast_is_the_textbook_unless_another_is_ahead_on_both_splits():
    # ten customers; the top 10 % is one customer, the top 20 % two
    future = np.array([100.0, 60, 10, 0, 0, 0, 0, 0, 0, 0])
    ranks = {
        "bgnbd": [2, 1, 3],  # customer 2 first: 10 / 170, then 0: 110 / 170
        "renewal": [3, 2, 1],  # 100 / 170 and 160 / 170: ahead at both shares
        "blend": [3, 1, 2],  # 100 / 170 but 110 / 170: only ahead at the top 10 %
    }
    forecasts = {name: np.array(r + [0] * 7, dtype=float) for name, r in ranks.items()}
    name, capture = choose_revenue([forecasts, forecasts], [future, future])
    assert name == "renewal"
    assert capture == pytest.approx({"bgnbd": 60 / 170, "renewal": 130 / 170, "blend": 105 / 170})
    # one split is one period: no second one confirms it, the textbook stays
    assert choose_revenue([forecasts], [future])[0] == "bgnbd"
    # behind on the other split
    swapped = future[[2, 1, 0, *range(3, 10)]]  # customer 2 holds the 100 now
    assert choose_revenue([forecasts, forecasts], [future, swapped])[0] == "bgnbd"
    # ahead, but by less than the margin at one share: the textbook stays
    close = forecasts | {"renewal": forecasts["bgnbd"] + np.r_[0, 0, 0, 0.5, [0] * 6]}
    tiny = future + np.r_[0, 0, 0, 170 * CAPTURE_MARGIN / 2, [0] * 6]
    assert choose_revenue([close, close], [tiny, tiny])[0] == "bgnbd"


def test_a_short_history_is_not_split():
    lines = demo_like_history(2, end="2024-12-31")
    split = select(prepare(lines, "2022-06-30"), 365)  # half a year of history
    assert split.choice is None and split.reason == "history"


@pytest.fixture(scope="module")
def demo_lines(tmp_path_factory):
    from recovery.demo.generator import generate_demo_export

    path = tmp_path_factory.mktemp("demo") / "demo.csv"
    generate_demo_export(path, as_of=date(2026, 11, 23), seed=0, customers=1200)
    return read_demo_export(path)


@pytest.mark.parametrize(("as_of", "horizon"), [("2026-03-01", 180), ("2026-02-01", 120)])
def test_calibrated_p_churn_is_closer_to_what_happened_on_the_held_out_demo(
    demo_lines, as_of, horizon
):
    # learnt on the history before as_of, measured on the horizon after it
    result = backtest(demo_lines, as_of, horizon_days=horizon)
    assert result.model["time_split"]["calibrator"] is not None and result.model["calibrated"]
    assert result.calibration_error < result.calibration_error_uncalibrated - 0.02

"""Calibration of p_churn (isotonic, Platt, scaling) and the time-split selection."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from recovery.analysis import AnalysisSettings, backtest, roc_auc
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
    every = {"kinds": tuple(cal.FITTERS), "weight": 1.0}  # any kind, the whole way
    then, now = _drawn(0.5, 0.0, seed=1), _drawn(0.5, 0.0, seed=2)
    c, errors = cal.forward(*then, *now, **every)
    assert c is not None and c.kind in cal.FITTERS and c.weight == 1.0
    assert errors[c.kind] < errors["raw"] / 2
    # pooled over both periods, and better on a third one than the raw score
    later = _drawn(0.5, 0.0, seed=3)
    assert decile_error(c.apply(later[0]), later[1]) < decile_error(*later) / 2
    # calibrated now, but not then: what was learnt then would only distort
    c, errors = cal.forward(*_drawn(0.3, 1.0, seed=1), *_drawn(1.0, 0.0, seed=2), **every)
    assert c is None and errors["raw"] == min(errors.values())


def test_the_run_applies_scaling_half_the_way():
    # the default: only scaling is eligible, and p_churn moves half the way to it
    then, now = _drawn(0.5, 0.0, seed=1), _drawn(0.5, 0.0, seed=2)
    c, errors = cal.forward(*then, *now)
    assert (c.kind, c.weight) == ("scaling", cal.WEIGHT) == ("scaling", 0.5)
    assert set(errors) == {"raw", *cal.FITTERS}
    p = now[0]
    assert c.apply(p) == pytest.approx(0.4995 * expit(c.a * logit(p)) + 0.5005 * p)
    # the order of the customers stays, and half the way still halves the error here
    assert roc_auc(c.apply(p), now[1]) == pytest.approx(roc_auc(p, now[1]), abs=1e-12)
    later = _drawn(0.5, 0.0, seed=3)
    assert decile_error(c.apply(later[0]), later[1]) < 0.6 * decile_error(*later)
    # a run stored before the weight existed applied its calibrator the whole way
    stored = {k: v for k, v in c.to_dict().items() if k != "weight"}
    assert cal.Calibrator.from_dict(stored).weight == 1.0
    assert cal.Calibrator.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    # an isotonic or Platt fit that did better on the later split is not applied
    c, errors = cal.forward(*_drawn(0.3, 1.0, seed=1), *_drawn(0.3, 1.0, seed=2))
    assert c is not None and c.kind == "scaling"
    assert min(errors["isotonic"], errors["platt"]) < errors["scaling"]


def test_forward_needs_a_margin_to_calibrate_an_already_calibrated_score():
    # p_churn is the true probability: on 2,000 customers its decile error is noise
    # (0.02-0.03), and some calibrator "beats" it on the next sample by chance
    pairs = [
        (_drawn(1.0, 0.0, n=2000, seed=s), _drawn(1.0, 0.0, n=2000, seed=s + 10)) for s in (2, 3, 4)
    ]
    every = {"kinds": tuple(cal.FITTERS), "weight": 1.0}
    for then, now in pairs:
        chance, errors = cal.forward(*then, *now, margin=0.0, **every)
        assert chance is not None
        assert 0 < errors["raw"] - errors[chance.kind] < cal.MARGIN
        # with the margin the raw p_churn stays (also with the run's defaults)
        assert cal.forward(*then, *now, **every) == (None, errors)
        assert cal.forward(*then, *now)[0] is None


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
    assert d["revenue_model"] in plain
    # the split's miscalibration here is one of level (isotonic and Platt would have
    # lowered its error); scaling, the only kind the run applies, did not: not applied
    errors = d["calibration_errors"]
    assert min(errors["isotonic"], errors["platt"]) < errors["raw"] - cal.MARGIN
    assert errors["scaling"] > errors["raw"] - cal.MARGIN
    assert d["calibrator"] is None and d["calibrated_model"] is None
    from recovery.analysis import score_customers

    scored = score_customers(lines, "2024-06-30").dropna(subset=["p_churn"])
    assert scored.attrs["model"]["time_split"] == d
    assert not scored.attrs["model"]["calibrated"]
    assert (scored["p_churn"] == scored["p_churn_uncalibrated"]).all()
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


def test_the_seasons_outlook_gives_p_churn_where_it_ranked_as_well_at_a_split():
    # here the chance "seasonal" customers' outlook ranked churners at least as well as the
    # year-round p_churn at both splits (seed 2, above: worse at both)
    lines = demo_like_history(5)
    d = select(prepare(lines, "2024-06-30"), 180).to_dict()
    assert d["seasonal_churn"] and len(d["season_auc"]) == 2
    assert all(season >= plain for plain, season in d["season_auc"])
    from recovery.analysis import score_customers

    scored = score_customers(lines, "2024-06-30").dropna(subset=["p_churn"])
    model = scored.attrs["model"]
    assert model["seasonal_churn"] and not model["seasonal_revenue"]
    # here scaling lowered the later split's decile error: applied, half the way, to the
    # final p_churn – the seasonal customers' outlook included – so that the ranking of
    # every customer is the uncalibrated one's
    assert d["calibrator"]["kind"] == "scaling" and d["calibrator"]["weight"] == cal.WEIGHT
    errors = d["calibration_errors"]
    assert errors["scaling"] <= errors["raw"] - cal.MARGIN
    assert model["calibrated"] and d["calibrated_model"] == model["model"]
    raw, calibrated = scored["p_churn_uncalibrated"], scored["p_churn"]
    assert not np.allclose(calibrated, raw)
    assert np.allclose(calibrated, cal.Calibrator.from_dict(d["calibrator"]).apply(raw))
    seasonal = scored["seasonal"].astype(bool)
    assert seasonal.any() and not np.allclose(calibrated[seasonal], raw[seasonal])
    later = scored["days_since_last_order"] > 60
    assert roc_auc(calibrated, later) == pytest.approx(roc_auc(raw, later), abs=1e-12)


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


@pytest.fixture(scope="module")
def cdnow_lines():
    from pathlib import Path

    from .builders import read_cdnow

    return read_cdnow(Path(__file__).resolve().parents[1] / "data" / "CDNOW_sample.txt")


def test_a_calibration_that_did_not_hold_on_the_split_is_not_applied(cdnow_lines):
    # CDNOW as of 1998-03-31, 90 days: both splits exist and the calibrators were measured,
    # but scaling did not lower the later split's decile error by the margin
    result = backtest(cdnow_lines, "1998-03-31", horizon_days=90)
    split = result.model["time_split"]
    errors = split["calibration_errors"]
    assert set(errors) == {"raw", *cal.FITTERS}
    assert errors["scaling"] > errors["raw"] - cal.MARGIN
    assert split["calibrator"] is None and not result.model["calibrated"]
    # the held-out horizon's p_churn is the model's own
    assert result.calibration_error == result.calibration_error_uncalibrated
    assert result.calibration == result.calibration_uncalibrated


def test_without_a_split_that_has_seasonal_customers_their_p_churn_stays_year_round(
    cdnow_lines,
):
    # CDNOW as of 1997-12-31, 180 days: the one split (1997-07-04) has half a year of
    # history, too little to find a season, so nothing shows that the season's outlook
    # ranks better; customers found "seasonal" as of the cut keep the year-round p_churn
    prep = prepare(cdnow_lines, "1997-12-31")
    split = select(prep, 180).to_dict()
    assert split["reason"] == "calibration_history" and split["season_auc"] == []
    assert split["seasonal_churn"] is False
    from recovery.analysis import score_customers

    scored = score_customers(cdnow_lines, "1997-12-31")
    assert scored["seasonal"].astype(bool).sum() > 0
    assert scored.attrs["model"]["seasonal_churn"] is False
    # p_churn for everyone as with the season detection switched off; the flags stay
    off = score_customers(cdnow_lines, "1997-12-31", AnalysisSettings(season_max_months=0))
    assert not off["seasonal"].astype(bool).any()
    assert np.allclose(scored["p_churn"], off["p_churn"], equal_nan=True)
    assert np.allclose(scored["p_alive"], off["p_alive"], equal_nan=True)

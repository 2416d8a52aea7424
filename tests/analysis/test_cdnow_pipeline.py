"""The whole pipeline on CDNOW's raw transactions reproduces the papers' figures."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recovery.analysis import AnalysisSettings, backtest, bgnbd, score_customers

from .builders import read_cdnow

DATA = Path(__file__).resolve().parents[1] / "data"
CALIBRATION_END = "1997-09-30"  # 39 weeks after 1 January 1997


@pytest.fixture(scope="module")
def lines():
    return read_cdnow(DATA / "CDNOW_sample.txt")


@pytest.fixture(scope="module")
def scored(lines):
    return score_customers(lines, CALIBRATION_END).set_index("customer_id")


def test_summary_statistics_match_the_published_summary(scored):
    summary = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv").set_index("ID")
    mine = scored.loc[summary.index]
    as_of = pd.Timestamp(CALIBRATION_END)
    assert ((mine["order_days"] - 1) == summary["x"]).all()
    t_x = (mine["last_order"] - mine["first_order"]).dt.days / 7
    T = (as_of - mine["first_order"]).dt.days / 7
    assert np.allclose(t_x, summary["t_x"], atol=0.005)
    assert np.allclose(T, summary["T"], atol=0.005)


def test_fitted_models_match_the_papers(scored):
    model = scored.attrs["model"]
    # p_churn comes from the best-fitting model (the renewal model on CDNOW, see clv);
    # BG/NBD, MBG/NBD and Gamma-Gamma are fitted at every run and match the papers
    assert model["model"] == "renewal"
    bg = model["bgnbd"]
    assert (round(bg["r"], 3), round(bg["alpha"], 3), round(bg["a"], 3), round(bg["b"], 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert bg["log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    gg = model["gamma_gamma"]
    assert (round(gg["p"], 2), round(gg["q"], 2), round(gg["gamma"], 2)) == (6.25, 3.74, 15.44)
    mbg = model["mbgnbd"]  # BTYDplus' MBG/NBD estimates on CDNOW
    assert tuple(round(mbg[k], 3) for k in ("r", "alpha", "a", "b")) == (0.525, 6.183, 0.891, 1.614)


def test_customer_one_expected_purchases(lines):
    # Hardie's example customer (x=2, t_x=30.43, T=38.86) is CDNOW customer 1:
    # 1.226 purchases expected in the 39 weeks after calibration. expected_orders is
    # BG/NBD's E[orders | active] (also when p_churn comes from the renewal model)
    scored = score_customers(lines, CALIBRATION_END, AnalysisSettings(horizon_days=273))
    one = scored.set_index("customer_id").loc[1]
    params = bgnbd.BGNBDParams(
        *(scored.attrs["model"]["bgnbd"][k] for k in ["r", "alpha", "a", "b"])
    )
    bg_alive = bgnbd.p_alive(params, 2, 30.43, 38.86)
    assert bg_alive * one["expected_orders"] == pytest.approx(1.226, abs=2e-3)
    expected = bgnbd.p_no_purchase(params, 2, 30.43, 38.86, 39)  # t_x, T rounded
    assert one["p_churn_bgnbd"] == pytest.approx(expected, abs=1e-4)


def test_backtest_on_the_holdout(lines):
    result = backtest(lines, CALIBRATION_END, horizon_days=273)
    assert result.population == 2357
    # holdout: weeks 40-78; the model must beat chance clearly, and days since the last
    # order (0.771) – which plain BG/NBD (0.757) does not
    assert 0.5 < result.base_rate < 0.9
    assert result.auc_p_churn > result.auc_days_since_last_order > 0.75
    assert result.auc_bgnbd == pytest.approx(0.757, abs=0.002)
    assert result.mean_p_churn == pytest.approx(result.base_rate, abs=0.06)
    # nine months of history leave no time split before the cut-off, so the revenue
    # forecast is the textbook BG/NBD × Gamma-Gamma (50.2 / 66.3 % of the holdout's
    # revenue in the top 10 / 20 %), ahead of past revenue (48.1 % in the top 10 %)
    rank = {m.ranking: m for m in result.ranking}
    assert result.model["time_split"]["reason"] == "history"
    assert result.model["revenue_model"] == "bgnbd"
    assert rank["expected_revenue"] == replace(rank["bgnbd_gg"], ranking="expected_revenue")
    assert rank["expected_revenue"].top10_future > rank["past_revenue"].top10_future + 0.01
    with pytest.raises(ValueError, match="data end on 1998-06-30"):
        backtest(lines, CALIBRATION_END, horizon_days=365)

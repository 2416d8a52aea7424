"""A2 rhythm: empirical-Bayes shrinkage and the overdue rule."""

import math

import numpy as np
import pandas as pd
import pytest

from recovery.analysis import AnalysisSettings, score_customers
from recovery.analysis.rhythm import estimate_priors, typical_interval, unit_days

from .builders import every, frame, line, row

GROUPS = pd.Index(["Kaffee"])


def units_from_intervals(intervals: list[list[int]]):
    """Sorted (unit, day) arrays: unit i starts on day 0 and then follows its intervals."""
    unit, day = [], []
    for i, gaps in enumerate(intervals):
        days = np.cumsum([0, *gaps])
        unit += [i] * len(days)
        day += days.tolist()
    n = len(intervals)
    return unit_days(np.array(unit), np.array(day), n), np.zeros(n, dtype=np.int32)


INTERVALS = [
    [10, 10, 10, 10],
    [20, 20, 20, 20],
    [10, 20, 10, 20],
    [30, 30, 30, 30],
    [15, 15, 15, 15],
    [40, 20, 40, 20],
]


def hand_estimate(intervals):
    """The documented estimator written out with plain floats."""
    m = [len(g) for g in intervals]
    y = [math.log(sum(g) / len(g)) for g in intervals]
    ss = []
    for g in intervals:
        logs = [math.log(d) for d in g]
        mean = sum(logs) / len(logs)
        ss.append(sum((v - mean) ** 2 for v in logs))
    sigma2 = sum(ss) / sum(k - 1 for k in m)
    noise = [sigma2 / k for k in m]
    mean_y = sum(y) / len(y)
    var_y = sum((v - mean_y) ** 2 for v in y) / len(y)
    tau2 = max(var_y - sum(noise) / len(noise), 1e-3)
    w = [1 / (tau2 + e) for e in noise]
    mu = sum(wi * yi for wi, yi in zip(w, y, strict=True)) / sum(w)
    return mu, tau2, sigma2


def test_unit_days_merges_same_day_orders():
    days = unit_days(np.array([0, 0, 0, 1, 2, 2]), np.array([5, 5, 12, 7, 1, 31]), 4)
    assert days.n_days.tolist() == [2, 1, 2, 0]
    assert days.first_day[:3].tolist() == [5, 7, 1]
    assert days.last_day[:3].tolist() == [12, 7, 31]
    assert days.sum_log[:3] == pytest.approx([math.log(7), 0, math.log(30)])


def test_prior_and_shrinkage_match_a_hand_computation():
    days, group = units_from_intervals(INTERVALS)
    (prior, _none) = estimate_priors(days, group, GROUPS)
    mu, tau2, sigma2 = hand_estimate(INTERVALS)
    assert prior.mu == pytest.approx(mu)
    assert prior.tau2 == pytest.approx(tau2)
    assert prior.sigma2 == pytest.approx(sigma2)
    assert prior.k == pytest.approx(sigma2 / tau2)
    interval, weight = typical_interval(days, group, [prior, _none])
    k = sigma2 / tau2
    assert weight[0] == pytest.approx(4 / (4 + k))
    assert interval[0] == pytest.approx(math.exp(4 / (4 + k) * math.log(10) + k / (4 + k) * mu))


def test_one_order_gets_the_group_prior_and_many_orders_their_own_rhythm():
    rng = np.random.default_rng(7)
    # 60 customers around 20 days (between sd 0.3 on the log scale), irregular (sd 0.5)
    rhythm = 20 * np.exp(rng.normal(0, 0.3, 60))
    base = [
        np.maximum(1, np.round(r * np.exp(rng.normal(0, 0.5, 6)))).astype(int).tolist()
        for r in rhythm
    ]
    days, group = units_from_intervals(base)
    priors = estimate_priors(days, group, GROUPS)
    # a customer who orders exactly every 60 days, seen after 1, 2, … 41 orders
    mine, mine_group = units_from_intervals([[60] * m for m in range(0, 41)])
    interval, weight = typical_interval(mine, mine_group, priors)
    assert 1 < priors[0].k < 10
    assert interval[0] == pytest.approx(priors[0].interval_days)  # one order: the prior
    assert weight[0] == 0
    assert weight[1] == pytest.approx(1 / (1 + priors[0].k))
    assert np.all(np.diff(weight) > 0) and np.all(np.diff(interval) > 0)
    assert interval[-1] == pytest.approx(60, rel=0.1)  # 40 intervals: nearly its own rhythm
    steps = np.diff(interval)
    assert np.all(np.diff(steps) < 0)  # smooth and concave: no jump at the third order
    assert steps.max() < 0.5 * (60 - interval[0])


def test_shrinkage_strength_is_estimated_from_the_data():
    rng = np.random.default_rng(1)
    # customers differ a lot, each is very regular -> own intervals are trusted quickly
    distinct = [[int(v)] * 5 for v in rng.choice([7, 14, 30, 60, 90, 120], 40)]
    # customers alike, each very irregular -> one interval says little
    noisy = [rng.choice([5, 10, 40, 80], 5).tolist() for _ in range(40)]
    for data, low, high in ((distinct, 0.8, 1.0), (noisy, 0.0, 0.3)):
        days, group = units_from_intervals([*data, [30]])
        priors = estimate_priors(days, group, GROUPS)
        _, weight = typical_interval(days, group, priors)
        assert low <= weight[-1] <= high  # weight of one own interval


def test_admin_default_interval_replaces_the_data_prior():
    days, group = units_from_intervals(INTERVALS + [[]])
    priors = estimate_priors(days, group, GROUPS, {"Kaffee": 90})
    interval, _ = typical_interval(days, group, priors)
    assert priors[0].source == "admin"
    assert interval[-1] == pytest.approx(90)
    assert priors[0].k == pytest.approx(estimate_priors(days, group, GROUPS)[0].k)


def regular(customer, last, gap=30, count=12, **kw):
    """``count`` orders every ``gap`` days, the last on ``last``."""
    start = pd.Timestamp(last) - pd.Timedelta(days=gap * (count - 1))
    return every(customer, str(start.date()), gap, count, **kw)


def test_overdue_rule_by_hand():
    as_of = pd.Timestamp("2024-06-30")
    lines = frame(
        *regular("late", as_of - pd.Timedelta(days=46)),  # 46 > 30 × 1.5
        *regular("edge", as_of - pd.Timedelta(days=45)),  # 45 is not more than 45
        *regular("fine", as_of - pd.Timedelta(days=10)),
        *regular("lost", as_of - pd.Timedelta(days=800)),  # beyond max_overdue_days
    )
    # own rhythm and group prior are both 30 days, so the typical interval is exactly 30
    settings = AnalysisSettings(group_default_intervals={"Kaffee": 30})
    result = score_customers(lines, as_of, settings)
    assert row(result, "late").typical_interval_days == pytest.approx(30)
    assert set(result.loc[result["flag_overdue"], "customer_id"]) == {"late"}
    assert set(result.loc[result["lost"], "customer_id"]) == {"lost"}
    late = row(result, "late")
    assert late.days_since_last_order == 46
    assert late.expected_next_order == as_of - pd.Timedelta(days=16)
    assert late.reason == "bestellt im Schnitt alle 30 Tage; letzte Bestellung vor 46 Tagen"
    tolerant = score_customers(lines, as_of, AnalysisSettings(overdue_tolerance=2))
    assert not tolerant["flag_overdue"].any()


def test_one_time_buyers_are_flagged_only_when_allowed():
    as_of = "2024-06-30"
    lines = frame(line("once", 1, "2024-03-01", 50), *regular("many", "2024-06-20"))
    settings = AnalysisSettings(group_default_intervals={"Kaffee": 30})
    once = row(score_customers(lines, as_of, settings), "once")
    assert once.typical_interval_days == pytest.approx(30)  # the group's interval
    assert not once.flag_overdue  # min_orders_for_rhythm = 2
    settings = AnalysisSettings(group_default_intervals={"Kaffee": 30}, min_orders_for_rhythm=1)
    once = row(score_customers(lines, as_of, settings), "once")
    assert once.flag_overdue
    assert once.reason == (
        "Kunden dieser Warengruppe bestellen im Schnitt alle 30 Tage; einzige Bestellung vor "
        "121 Tagen"
    )


def test_an_order_at_another_company_clears_the_flag():
    as_of = pd.Timestamp("2024-06-30")
    settings = AnalysisSettings(group_default_intervals={"Kaffee": 30})
    history = regular("A", as_of - pd.Timedelta(days=60), company="Shop A")
    assert row(score_customers(frame(*history), as_of, settings), "A").flag_overdue
    again = line("A", "x", str((as_of - pd.Timedelta(days=3)).date()), 80, company="Shop B")
    a = row(score_customers(frame(*history, again), as_of, settings), "A")
    assert not a.flag_overdue
    assert a.company == "Shop B"  # the company of the last order

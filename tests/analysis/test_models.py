"""BG/NBD and Gamma-Gamma against the published CDNOW figures and independent checks."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from scipy.special import betaln

from recovery.analysis import bgnbd, clv, gamma_gamma, mbgnbd

DATA = Path(__file__).resolve().parents[1] / "data"
PAPER = bgnbd.BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


@pytest.fixture(scope="module")
def cdnow():
    return pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="module")
def bgnbd_fit(cdnow):
    return bgnbd.fit(cdnow["x"], cdnow["t_x"], cdnow["T"])


def test_bgnbd_fit_reproduces_the_paper(bgnbd_fit):
    p = bgnbd_fit.params
    assert (round(p.r, 3), round(p.alpha, 3), round(p.a, 3), round(p.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert bgnbd_fit.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    assert bgnbd_fit.converged and bgnbd_fit.customers == 2357


def test_log_likelihood_at_the_published_parameters(cdnow):
    ll = bgnbd.log_likelihood(PAPER, cdnow["x"], cdnow["t_x"], cdnow["T"]).sum()
    assert ll == pytest.approx(-9582.4, abs=0.1)


def test_conditional_expectation_matches_hardies_spreadsheet(bgnbd_fit):
    value = bgnbd.expected_purchases(bgnbd_fit.params, 2, 30.43, 38.86, 39)
    assert value == pytest.approx(1.226, abs=5e-4)


def test_unconditional_expectation_matches_hardies_spreadsheet(bgnbd_fit):
    t = np.array([0.1429, 1.0, 3.0, 31.8571, 32.0, 78.0])
    expected = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576]
    assert bgnbd.expected_purchases_new(bgnbd_fit.params, t) == pytest.approx(expected, abs=5e-4)


def test_subsampled_fit_is_close(cdnow):
    fit = bgnbd.fit(cdnow["x"], cdnow["t_x"], cdnow["T"], max_customers=1500)
    assert fit.customers == 1500
    assert fit.params.r == pytest.approx(0.243, rel=0.25)
    assert fit.params.alpha == pytest.approx(4.414, rel=0.25)


def _posterior_no_purchase(params, x, t_x, T, h):
    """P(no purchase in (T, T+h]) by integrating over lambda numerically.

    p is integrated analytically (Beta integrals), lambda with quad: independent of the
    closed form in bgnbd.p_no_purchase.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    alive = np.exp(betaln(a, b + x) - betaln(a, b))
    dead = np.exp(betaln(a + 1, b + x - 1) - betaln(a, b)) if x > 0 else 0.0
    prior = stats.gamma(r, scale=1 / alpha).pdf

    def mass(t_alive):
        def f(lam):
            return (
                prior(lam) * lam**x * (alive * np.exp(-lam * t_alive) + dead * np.exp(-lam * t_x))
            )

        return integrate.quad(f, 0, np.inf, limit=200)[0]

    return mass(T + h) / mass(T)


@pytest.mark.parametrize(
    ("x", "t_x", "T", "h"), [(2, 30.43, 38.86, 39), (7, 20.0, 38.0, 26), (1, 2.0, 50.0, 10)]
)
def test_p_no_purchase_agrees_with_numerical_integration(x, t_x, T, h):
    closed = bgnbd.p_no_purchase(PAPER, x, t_x, T, h)
    assert closed == pytest.approx(_posterior_no_purchase(PAPER, x, t_x, T, h), rel=1e-6)


def simulate(params, n, T, h, rng):
    """Simulate the BG/NBD story: first purchase at 0, then Poisson(lambda) purchases
    with dropout p after each repeat purchase. Returns x, t_x and 'no purchase in h'."""
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    now = np.zeros(n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    bought_later = np.zeros(n, dtype=bool)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        now[idx] += rng.exponential(1 / lam[idx])
        in_cal = now[idx] <= T
        x[idx[in_cal]] += 1
        t_x[idx[in_cal]] = now[idx[in_cal]]
        bought_later[idx[(now[idx] > T) & (now[idx] <= T + h)]] = True
        drops = rng.random(len(idx)) < p[idx]
        active[idx[(now[idx] > T) | drops]] = False
    return x, t_x, ~bought_later


def test_p_churn_is_calibrated_on_simulated_customers():
    rng = np.random.default_rng(42)
    T, h = 39.0, 26.0
    x, t_x, none = simulate(PAPER, 40_000, T, h, rng)
    predicted = bgnbd.p_no_purchase(PAPER, x, t_x, np.full(len(x), T), h)
    assert predicted.mean() == pytest.approx(none.mean(), abs=0.01)
    for lo, hi in ((0, 0), (1, 1), (2, 4), (5, 1000)):
        sel = (x >= lo) & (x <= hi)
        assert predicted[sel].mean() == pytest.approx(none[sel].mean(), abs=0.025), (lo, hi)


def test_p_alive_is_one_without_repeat_purchases_and_lower_after_a_long_silence():
    assert bgnbd.p_alive(PAPER, 0, 0, 30) == 1.0
    recent, silent = bgnbd.p_alive(PAPER, np.array([3, 3]), np.array([29.0, 5.0]), 30)
    assert 0 < silent < recent < 1


def test_expected_purchases_if_alive_against_simulation():
    rng = np.random.default_rng(3)
    params = bgnbd.BGNBDParams(r=2.0, alpha=10.0, a=2.0, b=6.0)
    # active customers with x = 3 at T = 20: draw lambda, p from their posterior
    x, T, h = 3, 20.0, 15.0
    lam = rng.gamma(params.r + x, 1 / (params.alpha + T), 200_000)
    p = rng.beta(params.a, params.b + x, 200_000)
    count = np.zeros(len(lam))
    now = np.zeros(len(lam))
    active = np.ones(len(lam), dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        now[idx] += rng.exponential(1 / lam[idx])
        inside = now[idx] <= h
        count[idx[inside]] += 1
        active[idx[~inside | (rng.random(len(idx)) < p[idx])]] = False
    closed = bgnbd.expected_purchases_if_alive(params, x, T, h)
    assert closed == pytest.approx(count.mean(), rel=0.01)


def test_gamma_gamma_fit_reproduces_the_paper(cdnow):
    fit = gamma_gamma.fit(cdnow["x"], cdnow["zbar"])
    p = fit.params
    assert fit.customers == 946  # customers with at least one repeat purchase
    assert (round(p.p, 2), round(p.q, 2)) == (6.25, 3.74)
    assert p.gamma == pytest.approx(15.44, abs=0.01)


def test_gamma_gamma_expectation_is_the_posterior_mean():
    params = gamma_gamma.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    x, m = 4, 52.0
    # nu | data ~ Gamma(p x + q, rate gamma + x m); E[M] = p E[1/nu]
    post = stats.gamma(params.p * x + params.q, scale=1 / (params.gamma + x * m))
    numeric = integrate.quad(lambda nu: params.p / nu * post.pdf(nu), 0, np.inf)[0]
    assert gamma_gamma.expected_spend(params, x, m) == pytest.approx(numeric, rel=1e-6)
    assert gamma_gamma.expected_spend(params, 0, 0) == pytest.approx(params.population_mean)
    assert params.population_mean == pytest.approx(15.44 * 6.25 / 2.74)


def test_expected_purchases_stay_finite_and_bounded_for_extreme_inputs():
    x = np.array([0.0, 3, 200, 1000, 5000])
    T = np.array([0.0, 1, 1, 1, 100])
    value = bgnbd.expected_purchases_if_alive(PAPER, x, T, 26)
    assert np.all(np.isfinite(value)) and np.all(value >= 0)
    assert np.all(value <= (PAPER.r + x) / (PAPER.alpha + T) * 26 * (1 + 1e-9))


def test_expected_orders_once_per_distinct_history_equal_every_customers_own():
    rng = np.random.default_rng(3)
    n_days = rng.integers(1, 6, 2000)
    first = rng.integers(19000, 19040, 2000)
    inp = clv.ModelInputs(
        n_days=n_days,
        first_day=first,
        last_day=first + 3 * (n_days - 1) + rng.integers(0, 3, 2000),  # t_x varies
        as_of_day=19400,
        revenue=np.ones(2000),
        first_day_revenue=np.ones(2000),
        interval_days=np.full(2000, 30.0),
    )
    one, codes = clv._by_distinct_history(inp)
    assert len(one) == len(np.unique(n_days * 100 + first)) <= 200
    x, _, T = clv._summary(inp)
    for model, params in (
        (bgnbd, PAPER),
        (mbgnbd, mbgnbd.MBGNBDParams(r=0.5, alpha=6.0, a=1.4, b=3.1)),
    ):
        own = model.expected_purchases_if_alive(params, x, T, 26.0)
        shared = clv._orders_if_alive(model, params, x, T, 26.0, (one, codes))
        assert np.array_equal(shared, own)
    # days that are not integers: every customer is computed
    assert clv._by_distinct_history(replace(inp, first_day=first + 0.5)) is None

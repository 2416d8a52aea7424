"""The BG/NBD model of repeat buying, fitted by maximum likelihood.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the Easy
Way: An Alternative to the Pareto/NBD Model. *Marketing Science* 24(2), 275–284.

While active a customer buys as a Poisson process with rate ``lambda``; after each
purchase she drops out for good with probability ``p``. Across customers
``lambda ~ Gamma(r, alpha)`` (rate ``alpha``) and ``p ~ Beta(a, b)``. A customer is
summarised by ``x`` (repeat purchases), ``t_x`` (time of the last purchase) and ``T``
(time since the first purchase), both measured from the first purchase. The time unit
is whatever the caller uses; the analyser uses weeks, as the paper does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from .mle import minimize_bounded

_LOG_BOUNDS = (-12.0, 12.0)  # keeps degenerate fits finite (e^±12)


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class BGNBDFit:
    params: BGNBDParams
    log_likelihood: float  # of the customers fitted on
    customers: int
    converged: bool


def log_likelihood(
    params: BGNBDParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer log-likelihood, paper eq. (6) in log form."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(x, dtype=np.float64)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    alive = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        dead = np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x)
    return base + np.where(x > 0, np.logaddexp(alive, dead), alive)


@dataclass(frozen=True)
class _Data:
    """Fit data split for speed: x-only terms by unique x, one-timers by unique T."""

    n: float
    xs: np.ndarray  # unique x with their counts
    x_counts: np.ndarray
    zero_T: np.ndarray  # unique T of customers with x = 0, with counts
    zero_counts: np.ndarray
    x: np.ndarray  # customers with x > 0
    t_x: np.ndarray
    T: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> _Data:
        xs, x_counts = np.unique(x, return_counts=True)
        zero_T, zero_counts = np.unique(T[x == 0], return_counts=True)
        rep = x > 0
        return cls(float(len(x)), xs, x_counts, zero_T, zero_counts, x[rep], t_x[rep], T[rep])


def _negative_ll(theta: np.ndarray, d: _Data) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood (eq. 6) and its gradient w.r.t. the log-parameters."""
    r, alpha, a, b = np.exp(theta)
    n, xs, c = d.n, d.xs, d.x_counts
    # terms depending on x only: Gamma(r+x)/Gamma(r) alpha^r and B(a, b+x)/B(a, b)
    ll = np.sum(c * (gammaln(r + xs) + betaln(a, b + xs)))
    ll += n * (-gammaln(r) + r * np.log(alpha) - betaln(a, b))
    g_r = np.sum(c * digamma(r + xs)) + n * (np.log(alpha) - digamma(r))
    g_alpha = n * r / alpha
    g_a = np.sum(c * (digamma(a) - digamma(a + b + xs))) - n * (digamma(a) - digamma(a + b))
    g_b = np.sum(c * (digamma(b + xs) - digamma(a + b + xs))) - n * (digamma(b) - digamma(a + b))
    # one-time buyers: only the "alive at T" branch, (alpha+T)^-r
    log_zero = np.log(alpha + d.zero_T)
    ll -= r * np.sum(d.zero_counts * log_zero)
    g_r -= np.sum(d.zero_counts * log_zero)
    g_alpha -= r * np.sum(d.zero_counts / (alpha + d.zero_T))
    # repeat buyers: alive at T, or dropped out right after t_x (weight w)
    rx = r + d.x
    log_at, log_atx = np.log(alpha + d.T), np.log(alpha + d.t_x)
    log_b = np.log(b + d.x - 1)
    alive = -rx * log_at
    gap = np.log(a) - log_b - rx * log_atx - alive
    ll += np.sum(alive) + np.sum(np.logaddexp(0.0, gap))
    w = expit(gap)
    g_r -= np.sum(log_at) + np.sum(w * (log_atx - log_at))
    g_alpha -= np.sum(rx * ((1 - w) / (alpha + d.T) + w / (alpha + d.t_x)))
    g_a += np.sum(w) / a
    g_b -= np.sum(w / (b + d.x - 1))
    grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
    return -ll / n, -grad / n


def fit(
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    *,
    max_customers: int = 200_000,
    seed: int = 0,
) -> BGNBDFit:
    """Maximum likelihood (:mod:`.mle`) on the log-parameters (analytic gradient).

    More than ``max_customers`` customers are subsampled (fixed seed): the four
    population parameters are pinned down well long before that.
    """
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if len(x) > max_customers:
        pick = np.random.default_rng(seed).choice(len(x), size=max_customers, replace=False)
        x, t_x, T = x[pick], t_x[pick], T[pick]
    data = _Data.of(x, t_x, T)
    # start: r/alpha = observed purchase rate, a=1, b=3 (a slowly dropping-out base)
    rate = max(float(np.sum(x) / max(np.sum(T), 1e-9)), 1e-6)
    start = np.log([1.0, 1.0 / rate, 1.0, 3.0])
    best = minimize_bounded(_negative_ll, (start, np.zeros(4)), (data,), [_LOG_BOUNDS] * 4)
    if best is None:
        raise FloatingPointError("BG/NBD likelihood is not finite for these data")
    params = BGNBDParams(*np.exp(best.x))
    return BGNBDFit(params, float(-best.fun * data.n), int(data.n), bool(best.success))


def p_alive(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """P(still active at T | x, t_x, T), paper eq. (13)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_odds_dead = (
            np.log(a)
            - np.log(np.maximum(b + x - 1, 1e-300))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
    return np.where(x > 0, expit(-log_odds_dead), 1.0)


def p_no_purchase_if_alive(params: BGNBDParams, x, T, h: float) -> np.ndarray:
    """P(no purchase in (T, T+h] | active at T, x, T).

    Given activity at T the posterior of ``lambda`` is Gamma(r + x, alpha + T); dropout
    only happens right after a purchase, so "no purchase" is just the Poisson zero,
    integrated over that posterior: ``((alpha+T)/(alpha+T+h))^(r+x)``.
    """
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-(params.r + x) * np.log1p(h / (params.alpha + np.asarray(T))))


def p_no_purchase(params: BGNBDParams, x, t_x, T, h: float) -> np.ndarray:
    """P(no purchase in (T, T+h]) = P(dead) + P(alive) * P(no purchase | alive)."""
    alive = p_alive(params, x, t_x, T)
    return 1.0 - alive * (1.0 - p_no_purchase_if_alive(params, x, T, h))


def expected_purchases_if_alive(params: BGNBDParams, x, T, h: float) -> np.ndarray:
    """E[purchases in (T, T+h] | active at T]: paper eq. (9) with the updated posterior.

    Active at T, ``lambda ~ Gamma(r+x, alpha+T)`` and ``p ~ Beta(a, b+x)``, so the
    expectation is the unconditional E[X(h)] (eq. 7) under those parameters. Where the
    Gauss hypergeometric function fails numerically (extreme x for a short T, which
    real order days cannot produce) the posterior means are plugged into
    E[X(h) | lambda, p] = (1 - exp(-lambda p h)) / p instead.
    """
    r, a, b = params.r, params.a, params.b
    if abs(a - 1.0) < 1e-6:  # removable singularity of the closed form
        a = 1.0 + 1e-6
    x = np.asarray(x, dtype=np.float64)
    at = params.alpha + np.asarray(T, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, h / (at + h))
        value = (a + b + x - 1) / (a - 1) * (1.0 - np.exp(-(r + x) * np.log1p(h / at)) * hyp)
    no_dropout = (r + x) / at * h  # E[lambda] h, an upper bound
    bad = ~np.isfinite(value) | (value < 0) | (value > no_dropout * (1 + 1e-9))
    if np.any(bad):
        p_mean = a / (a + b + x)
        value = np.where(bad, -np.expm1(-no_dropout * p_mean) / p_mean, value)
    return value


def expected_purchases(params: BGNBDParams, x, t_x, T, h: float) -> np.ndarray:
    """E[purchases in (T, T+h] | x, t_x, T], paper eq. (10)."""
    return p_alive(params, x, t_x, T) * expected_purchases_if_alive(params, x, T, h)


def expected_purchases_new(params: BGNBDParams, t) -> np.ndarray:
    """E[X(t)] for a customer just acquired, paper eq. (7)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t = np.asarray(t, dtype=np.float64)
    hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1.0 - (alpha / (alpha + t)) ** r * hyp)

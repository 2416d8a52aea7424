"""The Gamma-Gamma model of spend per transaction.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using Iso-Value Curves
for Customer Base Analysis. *Journal of Marketing Research* 42(4), 415–430; and
Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary Value.

A customer's transaction values are Gamma(p, nu) with mean ``p / nu``; across customers
``nu ~ Gamma(q, gamma)``. With ``x`` transactions of average value ``m`` the expected
spend per transaction is

    E[M | x, m] = (gamma + x m) p / (p x + q - 1)
                = (q-1)/(p x+q-1) * gamma p/(q-1) + p x/(p x+q-1) * m,

a weighted average of the population mean ``gamma p / (q - 1)`` and the customer's own
average. As in the papers, ``x`` and ``m`` refer to the *repeat* transactions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import digamma, gammaln

from .mle import minimize_bounded

_LOG_BOUNDS = (-12.0, 12.0)


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float

    @property
    def population_mean(self) -> float:
        """E[M] for a customer we know nothing about (finite only for q > 1)."""
        return self.gamma * self.p / (self.q - 1) if self.q > 1 else float("inf")

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGammaParams
    log_likelihood: float
    customers: int
    converged: bool


def log_likelihood(params: GammaGammaParams, x, m) -> np.ndarray:
    """Per-customer log-likelihood of the average ``m`` of ``x`` transactions."""
    p, q, g = params.p, params.q, params.gamma
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(g)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(g + x * m)
    )


@dataclass(frozen=True)
class _Data:
    """Fit data with everything that does not depend on the parameters precomputed."""

    n: float
    x: np.ndarray
    m: np.ndarray
    xs: np.ndarray  # unique x and counts, for the gamma functions of p x
    counts: np.ndarray
    sum_log_m: float
    sum_x_log_xm: float  # sum of x (log m + log x)

    @classmethod
    def of(cls, x: np.ndarray, m: np.ndarray) -> _Data:
        xs, counts = np.unique(x, return_counts=True)
        log_m = np.log(m)
        return cls(
            float(len(x)),
            x,
            m,
            xs,
            counts,
            float(log_m.sum()),
            float(np.sum(x * (log_m + np.log(x)))),
        )


def _negative_ll(theta: np.ndarray, d: _Data) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood and gradient w.r.t. the log-parameters."""
    p, q, g = np.exp(theta)
    pxs = p * d.xs
    log_gxm = np.log(g + d.x * d.m)
    ll = (
        np.sum(d.counts * (gammaln(pxs + q) - gammaln(pxs)))
        + d.n * (q * np.log(g) - gammaln(q))
        + p * d.sum_x_log_xm
        - d.sum_log_m
        - np.sum((p * d.x + q) * log_gxm)
    )
    d_p = (
        np.sum(d.counts * d.xs * (digamma(pxs + q) - digamma(pxs)))
        + d.sum_x_log_xm
        - np.sum(d.x * log_gxm)
    )
    d_q = np.sum(d.counts * digamma(pxs + q)) - np.sum(log_gxm) + d.n * (np.log(g) - digamma(q))
    d_g = d.n * q / g - np.sum((p * d.x + q) / (g + d.x * d.m))
    grad = np.array([d_p * p, d_q * q, d_g * g])
    return -ll / d.n, -grad / d.n


def fit(x, m, *, max_customers: int = 200_000, seed: int = 0) -> GammaGammaFit:
    """Maximum likelihood on customers with ``x >= 1`` and ``m > 0`` (:mod:`.mle`, log scale).

    More than ``max_customers`` such customers are subsampled (fixed seed).
    """
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    use = (x >= 1) & (m > 0) & np.isfinite(m)
    x, m = x[use], m[use]
    if len(x) == 0:
        raise ValueError("no customer with a repeat transaction of positive value")
    if len(x) > max_customers:
        pick = np.random.default_rng(seed).choice(len(x), size=max_customers, replace=False)
        x, m = x[pick], m[pick]
    # start: p = 1, q = 2, and gamma so that the population mean equals the sample mean
    start = np.log([1.0, 2.0, float(np.mean(m))])
    res = minimize_bounded(_negative_ll, (start,), (_Data.of(x, m),), [_LOG_BOUNDS] * 3)
    if res is None:
        raise FloatingPointError("Gamma-Gamma likelihood is not finite for these data")
    params = GammaGammaParams(*np.exp(res.x))
    return GammaGammaFit(params, float(-res.fun * len(x)), len(x), bool(res.success))


def expected_spend(params: GammaGammaParams, x, m) -> np.ndarray:
    """E[M | x, m]; customers without repeat transactions (x = 0) get the population mean."""
    p, q, g = params.p, params.q, params.gamma
    x = np.asarray(x, dtype=np.float64)
    m = np.nan_to_num(np.asarray(m, dtype=np.float64))
    return (g + x * m) * p / (p * x + q - 1)

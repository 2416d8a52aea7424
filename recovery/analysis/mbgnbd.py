"""The MBG/NBD model: BG/NBD with a possible dropout right after the first purchase.

Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). Empirical validation and
comparison of models for customer base analysis. *International Journal of Research in
Marketing* 24(3), 201–209; also Hoppe, D. & Wagner, U. (2007), "Customer base analysis:
The case for a central variant of the Betageometric/NBD model".

The story is the BG/NBD one (:mod:`.bgnbd`: Poisson purchases at rate
``lambda ~ Gamma(r, alpha)``, dropout with ``p ~ Beta(a, b)``) except that the coin is
also tossed right after the *first* purchase. A customer with ``x`` repeat purchases has
survived ``x`` tosses and is alive now after ``x + 1``; the likelihood is

    L = B(a, b+x+1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
      + B(a+1, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x)),

for every ``x`` including 0, so a one-time buyer who has been silent for a long time is
no longer alive for sure (BG/NBD: P(alive | x = 0) = 1), and

    P(alive | x, t_x, T) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)).

Given activity at T the customer is a BG/NBD customer with ``lambda ~ Gamma(r+x,
alpha+T)`` and ``p ~ Beta(a, b+x+1)``, so "no purchase in h" and the expected purchases
reuse :mod:`.bgnbd` with those parameters. The time unit is the caller's (weeks here).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln

from . import bgnbd
from .mle import minimize_bounded

_LOG_BOUNDS = (-12.0, 12.0)


@dataclass(frozen=True)
class MBGNBDParams:
    r: float
    alpha: float
    a: float
    b: float

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class MBGNBDFit:
    params: MBGNBDParams
    log_likelihood: float  # of the customers fitted on
    customers: int
    converged: bool


def _terms(params: MBGNBDParams, x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(common part, log "alive at T" branch, log "dropped out after t_x" branch)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(x, dtype=np.float64)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    alive = betaln(a, b + x + 1) - (r + x) * np.log(alpha + np.asarray(T, dtype=np.float64))
    dead = betaln(a + 1, b + x) - (r + x) * np.log(alpha + np.asarray(t_x, dtype=np.float64))
    return base, alive, dead


def log_likelihood(params: MBGNBDParams, x, t_x, T) -> np.ndarray:
    """Per-customer log-likelihood (the two branches above)."""
    base, alive, dead = _terms(params, x, t_x, T)
    return base + np.logaddexp(alive, dead)


@dataclass(frozen=True)
class _Data:
    """Distinct ``(x, t_x, T)`` rows with their counts; terms in ``x`` per distinct ``x``."""

    n: float
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    counts: np.ndarray
    xs: np.ndarray  # distinct x
    x_index: np.ndarray  # row -> position in xs

    @classmethod
    def of(cls, x, t_x, T, max_customers: int, seed: int) -> _Data:
        rows = np.column_stack([np.asarray(v, dtype=np.float64) for v in (x, t_x, T)])
        if len(rows) > max_customers:
            pick = np.random.default_rng(seed).choice(len(rows), size=max_customers, replace=False)
            rows = rows[pick]
        rows, counts = np.unique(rows, axis=0, return_counts=True)
        xs, x_index = np.unique(rows[:, 0], return_inverse=True)
        return cls(
            float(counts.sum()),
            rows[:, 0],
            rows[:, 1],
            rows[:, 2],
            counts.astype(float),
            xs,
            x_index,
        )


def _negative_ll(theta: np.ndarray, d: _Data) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood and its gradient w.r.t. the log-parameters."""
    r, alpha, a, b = np.exp(theta)
    xs, idx, c = d.xs, d.x_index, d.counts
    rx = r + d.x
    log_at, log_atx = np.log(alpha + d.T), np.log(alpha + d.t_x)
    alive = betaln(a, b + xs + 1)[idx] - rx * log_at
    dead = betaln(a + 1, b + xs)[idx] - rx * log_atx
    base_x = gammaln(r + xs) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    ll = np.sum(c * (base_x[idx] + np.logaddexp(alive, dead)))
    w = expit(dead - alive)  # posterior weight of "dropped out after the last purchase"
    cw = c * w
    psi_ab, psi_abx = digamma(a + b), digamma(a + b + xs + 1)[idx]
    g_r = np.sum(c * (digamma(r + xs)[idx] - log_at) - cw * (log_atx - log_at))
    g_r += d.n * (np.log(alpha) - digamma(r))
    g_alpha = d.n * r / alpha - np.sum(c * rx * ((1 - w) / (alpha + d.T) + w / (alpha + d.t_x)))
    g_a = np.sum(c * (psi_ab - psi_abx)) + np.sum(cw) / a
    b_x = (digamma(b + xs + 1) - digamma(b))[idx]
    g_b = np.sum(c * (psi_ab + b_x - psi_abx) - cw / (b + d.x))
    grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
    return -ll / d.n, -grad / d.n


def fit(
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    *,
    max_customers: int = 200_000,
    seed: int = 0,
) -> MBGNBDFit:
    """Maximum likelihood (:mod:`.mle`) on the log-parameters (analytic gradient).

    More than ``max_customers`` customers are subsampled (fixed seed); identical
    ``(x, t_x, T)`` rows are fitted once with their count.
    """
    data = _Data.of(x, t_x, T, max_customers, seed)
    rate = max(float(np.sum(data.counts * data.x) / max(np.sum(data.counts * data.T), 1e-9)), 1e-6)
    start = np.log([1.0, 1.0 / rate, 1.0, 3.0])
    best = minimize_bounded(_negative_ll, (start, np.zeros(4)), (data,), [_LOG_BOUNDS] * 4)
    if best is None:
        raise FloatingPointError("MBG/NBD likelihood is not finite for these data")
    params = MBGNBDParams(*np.exp(best.x))
    return MBGNBDFit(params, float(-best.fun * data.n), int(data.n), bool(best.success))


def p_alive(params: MBGNBDParams, x, t_x, T) -> np.ndarray:
    """P(still active at T | x, t_x, T)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(x, dtype=np.float64)
    log_odds_dead = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return expit(-log_odds_dead)


def _as_bgnbd(params: MBGNBDParams) -> bgnbd.BGNBDParams:
    """The BG/NBD parameters whose 'alive' formulas equal MBG/NBD's (b shifted by one)."""
    return bgnbd.BGNBDParams(params.r, params.alpha, params.a, params.b + 1.0)


def p_no_purchase_if_alive(params: MBGNBDParams, x, T, h: float) -> np.ndarray:
    """P(no purchase in (T, T+h] | active at T) = ((α+T)/(α+T+h))^(r+x), as in BG/NBD."""
    return bgnbd.p_no_purchase_if_alive(_as_bgnbd(params), x, T, h)


def p_no_purchase(params: MBGNBDParams, x, t_x, T, h: float) -> np.ndarray:
    """P(no purchase in (T, T+h]) = P(dead) + P(alive) * P(no purchase | alive)."""
    alive = p_alive(params, x, t_x, T)
    return 1.0 - alive * (1.0 - p_no_purchase_if_alive(params, x, T, h))


def expected_purchases_if_alive(params: MBGNBDParams, x, T, h: float) -> np.ndarray:
    """E[purchases in (T, T+h] | active at T]: BG/NBD's with ``p ~ Beta(a, b+x+1)``.

    Batislam et al.'s eq.: (a+b+x)/(a-1) · [1 − ((α+T)/(α+T+h))^(r+x) ·
    ₂F₁(r+x, b+x+1; a+b+x; h/(α+T+h))].
    """
    return bgnbd.expected_purchases_if_alive(_as_bgnbd(params), x, T, h)


def expected_purchases(params: MBGNBDParams, x, t_x, T, h: float) -> np.ndarray:
    """E[purchases in (T, T+h] | x, t_x, T]."""
    return p_alive(params, x, t_x, T) * expected_purchases_if_alive(params, x, T, h)

"""A rhythm-aware churn model: each customer's own order rhythm plus a dropout process.

BG/NBD and MBG/NBD (:mod:`.bgnbd`, :mod:`.mbgnbd`) model a customer's orders as a
memoryless Poisson process, so a silence of 120 days says the same about a customer who
ordered every 30 days like clockwork as about one who orders at random. This model keeps
their dropout story but replaces the Poisson process by a *renewal* process with the
customer's own distribution of intervals between order days:

* **Intervals.** A customer's log-intervals ``y_j = log d_j`` (days between consecutive
  order days) are i.i.d. ``N(mu_i, sigma_i^2)``. Across customers ``(mu_i, sigma_i^2)``
  follow a normal–inverse-χ² distribution: ``sigma_i^2 ~ Inv-χ²(nu0, s0)`` and
  ``mu_i | sigma_i^2 ~ N(mu0, sigma_i^2 / kappa0)``. Both the level and the regularity
  of the rhythm are therefore shrunk towards the population: with ``m`` intervals of mean
  ``ybar`` and within sum of squares ``SS`` the posterior is again normal–inverse-χ² with

      kappa_n = kappa0 + m,  mu_n = (kappa0 mu0 + m ybar) / kappa_n,  nu_n = nu0 + m,
      V_n = nu0 s0 + SS + kappa0 m (ybar − mu0)² / kappa_n,

  and the next log-interval is Student-t with ``nu_n`` degrees of freedom, location
  ``mu_n`` and scale² ``V_n / nu_n · (1 + 1/kappa_n)``. The survival function below uses
  the normal with that location and scale: ten times cheaper, and the t's heavier tails
  were no better in the backtests (AUC within ±0.008, calibration within 0.02).
* **Dropout** as in MBG/NBD (Batislam et al. 2007): after every order, the first one
  included, the customer leaves for good with probability ``p ~ Beta(a, b)``; in
  addition a share ``pi`` of customers never comes back after the first order (for
  ``pi = 0`` this is exactly MBG/NBD's dropout).

With ``S(t)`` = P(next interval > t) under the posterior predictive and ``s`` the days
since the last order day, a customer's likelihood is

    L = p(y_1..y_m) · [ D_m + A_m · S(s) ],
    D_m = (1−pi) B(a+1, b+m)/B(a, b) + pi·[m = 0],   A_m = (1−pi) B(a, b+m+1)/B(a, b),

where ``p(y_1..y_m)`` is the closed-form normal–inverse-χ² marginal likelihood
(Murphy 2007, "Conjugate Bayesian analysis of the Gaussian distribution"). With
``k = D_m / A_m``:

    P(alive) = S(s) / (k + S(s)),
    P(no order in the next h days) = (k + S(s+h)) / (k + S(s)).

A regular customer has a narrow predictive, so ``S(s)`` collapses soon after her usual
interval has passed and she is likely gone; an irregular one keeps ``S(s)`` high for
much longer. All seven parameters are fitted jointly by maximum likelihood (:mod:`.mle`,
analytic gradient), so the customers who never ordered twice inform the rhythm of the
slow buyers, too. Time unit: days.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, log_ndtr, ndtr

from .mle import minimize_bounded

_BOUNDS = [
    (-2.0, 10.0),  # mu0 (log days: 0.1 days .. 60 years)
    (-9.0, 9.0),  # log kappa0
    (-3.0, 9.0),  # log nu0
    (-9.0, 5.0),  # log s0
    (-9.0, 9.0),  # log a
    (-9.0, 9.0),  # log b
    (-12.0, 12.0),  # logit pi
]
MIN_GAP = 0.5  # days; S(0) is taken as S(0.5), which is 1 for any real rhythm
_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


@dataclass(frozen=True)
class RenewalParams:
    mu0: float  # population mean of a customer's mean log-interval (log days)
    kappa0: float  # weight of mu0, in intervals
    nu0: float  # degrees of freedom of the within-customer variance prior
    s0: float  # scale of that prior: a typical within-customer variance of log intervals
    a: float  # Beta(a, b) dropout probability after each order
    b: float
    pi: float  # share of customers who never order again after the first order

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class RenewalFit:
    params: RenewalParams
    log_likelihood: float  # of the customers fitted on, as a density of order days
    customers: int
    converged: bool


@dataclass(frozen=True)
class Intervals:
    """Per-customer summary of the order days (one customer per position)."""

    m: np.ndarray  # number of intervals = order days − 1
    mean_log: np.ndarray  # mean log-interval (0 where m = 0)
    ss_log: np.ndarray  # within sum of squares of the log-intervals (0 where m < 2)
    since: np.ndarray  # days since the last order day

    @property
    def log_gap(self) -> np.ndarray:
        """log(days since the last order day), at least log(MIN_GAP); computed once."""
        cached = self.__dict__.get("_log_gap")
        if cached is None:
            cached = _log_gap(self.since)
            object.__setattr__(self, "_log_gap", cached)
        return cached

    @classmethod
    def of(cls, n_days, sum_log, sumsq_log, since) -> Intervals:
        """From order-day counts and the sums of (squared) log-intervals (``rhythm``)."""
        m = np.maximum(np.asarray(n_days, dtype=np.float64) - 1, 0)
        sum_log = np.asarray(sum_log, dtype=np.float64)
        safe = np.maximum(m, 1)
        mean_log = np.where(m > 0, sum_log / safe, 0.0)
        ss = np.where(m > 1, np.maximum(np.asarray(sumsq_log) - sum_log * sum_log / safe, 0), 0.0)
        return cls(m, mean_log, ss, np.asarray(since, dtype=np.float64))

    def take(self, idx: np.ndarray) -> Intervals:
        return Intervals(self.m[idx], self.mean_log[idx], self.ss_log[idx], self.since[idx])

    def __len__(self) -> int:
        return len(self.m)


def _unpack(theta: np.ndarray) -> RenewalParams:
    mu0, lk, lnu, ls0, la, lb, lpi = theta
    return RenewalParams(mu0, *np.exp([lk, lnu, ls0, la, lb]), float(expit(lpi)))


def _pack(p: RenewalParams) -> np.ndarray:
    return np.array(
        [p.mu0, *np.log([p.kappa0, p.nu0, p.s0, p.a, p.b]), np.log(p.pi) - np.log1p(-p.pi)]
    )


def predictive(params: RenewalParams, d: Intervals) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard deviation) of the next log-interval, per customer."""
    kn = params.kappa0 + d.m
    mun = (params.kappa0 * params.mu0 + d.m * d.mean_log) / kn
    vn = _vn(params, d, kn)
    return mun, np.sqrt(vn / (params.nu0 + d.m) * (1 + 1 / kn))


def _vn(params: RenewalParams, d: Intervals, kn: np.ndarray) -> np.ndarray:
    dev = d.mean_log - params.mu0
    return params.nu0 * params.s0 + d.ss_log + params.kappa0 * d.m * dev * dev / kn


def _log_gap(since: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(since, MIN_GAP))


def _dropout_odds(params: RenewalParams, m: np.ndarray) -> np.ndarray:
    """k = D_m / A_m: the odds of 'gone' against 'alive' before looking at the silence."""
    k = params.a / (params.b + m)
    if params.pi > 0:
        never = params.pi / ((1 - params.pi) * params.b / (params.a + params.b))
        k = np.where(m == 0, k + never, k)
    return k


def survival(params: RenewalParams, d: Intervals, t: np.ndarray) -> np.ndarray:
    """P(next interval > t days | the customer's intervals), t ≥ 0."""
    loc, scale = predictive(params, d)
    return ndtr(-(_log_gap(np.asarray(t, dtype=np.float64)) - loc) / scale)


def p_alive(params: RenewalParams, d: Intervals) -> np.ndarray:
    """P(still active now | intervals, days since the last order)."""
    return alive_and_no_order(params, d, 0.0)[0]


def p_no_order(params: RenewalParams, d: Intervals, h: float) -> np.ndarray:
    """P(no order in the next ``h`` days) = (k + S(s+h)) / (k + S(s))."""
    return alive_and_no_order(params, d, h)[1]


def alive_and_no_order(
    params: RenewalParams, d: Intervals, h: float
) -> tuple[np.ndarray, np.ndarray]:
    """(P(alive), P(no order in the next ``h`` days)) in one pass."""
    loc, scale = predictive(params, d)
    s_now = ndtr(-(d.log_gap - loc) / scale)
    s_later = ndtr(-(_log_gap(d.since + h) - loc) / scale)
    k = _dropout_odds(params, d.m)
    total = k + s_now
    return s_now / total, (k + s_later) / total


def log_marginal(params: RenewalParams, d: Intervals) -> np.ndarray:
    """log p(y_1..y_m): the normal–inverse-χ² marginal likelihood of the log-intervals."""
    k0, nu0, m = params.kappa0, params.nu0, d.m
    kn, nun = k0 + m, nu0 + m
    return (
        gammaln(nun / 2)
        - gammaln(nu0 / 2)
        + 0.5 * (np.log(k0) - np.log(kn))
        + 0.5 * nu0 * np.log(nu0 * params.s0)
        - 0.5 * nun * np.log(_vn(params, d, kn))
        - 0.5 * m * np.log(np.pi)
    )


def log_dropout(params: RenewalParams, d: Intervals) -> np.ndarray:
    """log(D_m + A_m · S(s)): the dropout process and the current silence."""
    a, b, pi, m = params.a, params.b, params.pi, d.m
    loc, scale = predictive(params, d)
    log_s = log_ndtr(-(d.log_gap - loc) / scale)  # log S(s), finite for any silence
    beta = np.logaddexp(betaln(a + 1, b + m), betaln(a, b + m + 1) + log_s) - betaln(a, b)
    out = np.log1p(-pi) + beta
    return np.where(m == 0, np.logaddexp(np.log(pi), out), out) if pi > 0 else out


def log_likelihood(params: RenewalParams, d: Intervals) -> np.ndarray:
    """Per-customer log-likelihood as a density of the order days (per day).

    The log-interval density is turned into a density of the intervals (Jacobian
    ``−sum log d_j``), so it can be compared with :func:`bgnbd.log_likelihood` and
    :func:`mbgnbd.log_likelihood` once those are converted from weeks to days.
    """
    return log_marginal(params, d) - d.m * d.mean_log + log_dropout(params, d)


class _FitData:
    """The fit sample split for speed.

    Repeat buyers (``m >= 1``) are kept per customer, with the terms that depend on
    ``m`` only computed once per distinct ``m``; one-time buyers differ only in their
    silence, so they are kept as distinct log-gaps with counts.
    """

    def __init__(self, d: Intervals):
        rep = d.m > 0
        self.n = float(len(d))
        self.m = d.m[rep]
        self.mean_log = d.mean_log[rep]
        self.ss = d.ss_log[rep]
        self.log_gap = d.log_gap[rep]
        self.m_values, self.m_index = np.unique(self.m, return_inverse=True)
        self.zero_gap, counts = np.unique(d.log_gap[~rep], return_counts=True)
        self.zero_counts = counts.astype(np.float64)


def _mills(z: np.ndarray, log_s: np.ndarray) -> np.ndarray:
    """phi(z) / (1 − Phi(z)) from log(1 − Phi(z)), stable in both tails."""
    return np.exp(-0.5 * z * z - _LOG_SQRT_2PI - log_s)


def _negative_ll(theta: np.ndarray, d: _FitData) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood (no constants) and its gradient w.r.t. ``theta``."""
    p = _unpack(theta)
    mu0, k0, nu0, s0, a, b, pi = p.mu0, p.kappa0, p.nu0, p.s0, p.a, p.b, p.pi
    log_keep, psi_a, psi_ab = np.log1p(-pi), digamma(a), digamma(a + b)
    beta_ab = betaln(a, b)
    grad = np.zeros(7)

    # repeat buyers: marginal likelihood of the intervals + dropout with log(1 - pi)
    mv, idx = d.m_values, d.m_index
    m, dev = d.m, d.mean_log - mu0
    kn, nun = k0 + m, nu0 + m
    vn = nu0 * s0 + d.ss + k0 * m * dev * dev / kn
    mun = mu0 + m * dev / kn
    log_vn = np.log(vn)
    lml_m = (
        gammaln((nu0 + mv) / 2)
        - gammaln(nu0 / 2)
        + 0.5 * (np.log(k0) - np.log(k0 + mv))
        + 0.5 * nu0 * np.log(nu0 * s0)
    )
    scale = np.sqrt(vn / nun * (1 + 1 / kn))
    z = (d.log_gap - mun) / scale
    log_s = log_ndtr(-z)
    dead = betaln(a + 1, b + mv)[idx]
    alive = betaln(a, b + mv + 1)[idx] + log_s
    ll = np.sum(lml_m[idx] - 0.5 * nun * log_vn + np.logaddexp(dead, alive))
    ll += len(m) * (log_keep - beta_ab)
    w_dead = expit(dead - alive)
    c = -(1 - w_dead) * _mills(z, log_s)  # d ll / d z
    half_nun_vn, inv_2vn = 0.5 * nun / vn, 0.5 / vn
    dvn = -2 * k0 * m * dev / kn
    grad[0] = np.sum(-half_nun_vn * dvn + c * (-k0 / (kn * scale) - z * dvn * inv_2vn))
    dvn = m * m * dev * dev / (kn * kn)
    dz = m * dev / (kn * kn * scale) - z * (dvn * inv_2vn - 0.5 / (kn * (kn + 1)))
    g = np.sum(-half_nun_vn * dvn + c * dz) + np.sum((0.5 / k0 - 0.5 / (k0 + mv))[idx])
    grad[1] = g * k0
    dlml_m = 0.5 * (digamma((nu0 + mv) / 2) - digamma(nu0 / 2) + np.log(nu0 * s0) + 1)
    dz = -z * (s0 * inv_2vn - 0.5 / nun)
    grad[2] = (np.sum(dlml_m[idx]) + np.sum(-0.5 * log_vn - half_nun_vn * s0 + c * dz)) * nu0
    grad[3] = (len(m) * 0.5 * nu0 / s0 + np.sum(nu0 * (-half_nun_vn - c * z * inv_2vn))) * s0
    psi_abm = digamma(a + b + mv + 1)
    da_dead, da_alive = (digamma(a + 1) - psi_abm)[idx], (psi_a - psi_abm)[idx]
    db_dead, db_alive = (digamma(b + mv) - psi_abm)[idx], (digamma(b + mv + 1) - psi_abm)[idx]
    grad[4] = (np.sum(w_dead * da_dead + (1 - w_dead) * da_alive) - len(m) * (psi_a - psi_ab)) * a
    grad[5] = (
        np.sum(w_dead * db_dead + (1 - w_dead) * db_alive) - len(m) * (digamma(b) - psi_ab)
    ) * b
    grad[6] = -pi * len(m)

    # one-time buyers: no intervals; never-returners (pi) or the Beta dropout
    if len(d.zero_gap):
        cnt = d.zero_counts
        scale0 = np.sqrt(s0 * (1 + 1 / k0))
        z = (d.zero_gap - mu0) / scale0
        log_s = log_ndtr(-z)
        dead0 = betaln(a + 1, b)
        alive = betaln(a, b + 1) + log_s
        ld_beta = np.logaddexp(dead0, alive) - beta_ab
        ld = np.logaddexp(np.log(pi), log_keep + ld_beta)
        ll += np.sum(cnt * ld)
        v = np.exp(log_keep + ld_beta - ld)  # share of the Beta part
        w_dead = expit(dead0 - alive)
        c = -cnt * v * (1 - w_dead) * _mills(z, log_s)
        grad[0] += np.sum(c * (-1 / scale0))
        grad[1] += np.sum(c * z * 0.5 / (k0 * (k0 + 1))) * k0
        grad[3] += np.sum(c * (-z / (2 * s0))) * s0
        psi_ab1 = digamma(a + b + 1)
        d_a = w_dead * (digamma(a + 1) - psi_ab1) + (1 - w_dead) * (psi_a - psi_ab1)
        d_b = w_dead * (digamma(b) - psi_ab1) + (1 - w_dead) * (digamma(b + 1) - psi_ab1)
        grad[4] += np.sum(cnt * v * (d_a - (psi_a - psi_ab))) * a
        grad[5] += np.sum(cnt * v * (d_b - (digamma(b) - psi_ab))) * b
        grad[6] += np.sum(cnt * ((1 - v) * (1 - pi) - v * pi))
    return -float(ll) / d.n, -grad / d.n


def fit(d: Intervals, *, max_customers: int = 50_000, seed: int = 0) -> RenewalFit:
    """Maximum likelihood on at most ``max_customers`` customers (fixed-seed sample)."""
    if len(d) > max_customers:
        d = d.take(np.random.default_rng(seed).choice(len(d), size=max_customers, replace=False))
    rep = d.m > 0
    if not rep.any():
        raise ValueError("no customer with two order days")
    mean_log = d.mean_log[rep]
    within = d.ss_log[d.m > 1].sum() / max(float(np.sum(d.m[d.m > 1] - 1)), 1.0)
    start = RenewalParams(
        mu0=float(np.mean(mean_log)),
        kappa0=1.0,
        nu0=5.0,
        s0=max(float(within), 0.05),
        a=1.0,
        b=3.0,
        pi=0.1,
    )
    alt = RenewalParams(float(np.mean(mean_log)), 1.0, 1.0, 1.0, 1.0, 1.0, 0.5)
    best = minimize_bounded(_negative_ll, (_pack(start), _pack(alt)), (_FitData(d),), _BOUNDS)
    if best is None:
        raise FloatingPointError("renewal likelihood is not finite for these data")
    params = _unpack(best.x)
    ll = float(np.sum(log_likelihood(params, d)))
    return RenewalFit(params, ll, len(d), bool(best.success))

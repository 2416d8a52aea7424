"""A2 ordering rhythm: a customer's typical interval, shrunk towards the product group's.

A *unit* is a customer (or a customer × product group pair) with its order *days*
(several orders on one day count once). A unit with ``m`` intervals has the own
estimate ``y = log(mean interval)``. Empirical Bayes on the log scale, per product group:

* ``sigma2`` – within-unit variance of the log-intervals, pooled over units with at
  least two intervals: ``sum((log d - mean log d)^2) / sum(m - 1)``;
* ``tau2`` – between-unit variance of the true log-rhythm, by the method of moments
  (DerSimonian–Laird style): ``var(y) - mean(sigma2 / m)``, floored at ``TAU2_FLOOR``;
  ``sigma2 / m`` approximates the sampling variance of ``y`` (delta method);
* ``mu`` – the group's typical log-interval, the precision-weighted mean of ``y`` with
  weights ``1 / (tau2 + sigma2 / m)``; an admin default interval replaces it.

The unit's log-interval is ``w * y + (1 - w) * mu`` with ``w = m / (m + k)`` and
``k = sigma2 / tau2`` – the posterior mean of a normal–normal model. One order
(``m = 0``) gives exactly the group's interval, many orders the unit's own mean
interval, and the weight moves smoothly in between; ``k`` comes from the data.
Groups with too little data use the estimates pooled over all groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .prepare import stable_argsort

MIN_UNITS = 20  # units with ≥ 1 interval needed for a group's own mu/tau2
MIN_WITHIN_DF = 10  # sum(m - 1) needed for a group's own sigma2
TAU2_FLOOR = 1e-3
K_DEFAULT = 1.0  # when sigma2 cannot be estimated at all: one interval weighs like the prior


@dataclass
class UnitDays:
    """Per-unit summary of the order days (arrays indexed by unit code)."""

    n_days: np.ndarray  # int32
    first_day: np.ndarray  # int32 (undefined where n_days == 0)
    last_day: np.ndarray
    sum_log: np.ndarray  # sum of log intervals
    sumsq_log: np.ndarray


def unit_days(unit: np.ndarray, day: np.ndarray, n_units: int) -> UnitDays:
    """Summarise order days given sorted by (unit, day); duplicates are allowed."""
    if len(unit):
        new = np.ones(len(unit), dtype=bool)
        new[1:] = (unit[1:] != unit[:-1]) | (day[1:] != day[:-1])
        unit, day = unit[new], day[new]
    n_days = np.bincount(unit, minlength=n_units).astype(np.int32)
    first = np.zeros(n_units, dtype=np.int32)
    last = np.zeros(n_units, dtype=np.int32)
    if len(unit):
        starts = np.ones(len(unit), dtype=bool)
        starts[1:] = unit[1:] != unit[:-1]
        ends = np.ones(len(unit), dtype=bool)
        ends[:-1] = starts[1:]
        first[unit[starts]] = day[starts]
        last[unit[ends]] = day[ends]
    same = ~np.ones(len(unit), dtype=bool)
    same[1:] = unit[1:] == unit[:-1]
    log_d = np.log(np.diff(day, prepend=0)[same].astype(np.float64))
    owner = unit[same]
    return UnitDays(
        n_days=n_days,
        first_day=first,
        last_day=last,
        sum_log=np.bincount(owner, weights=log_d, minlength=n_units),
        sumsq_log=np.bincount(owner, weights=log_d * log_d, minlength=n_units),
    )


@dataclass(frozen=True)
class Prior:
    """Empirical-Bayes prior of one product group (log scale)."""

    mu: float  # log days; NaN when unknown
    tau2: float
    sigma2: float
    k: float
    units: int
    source: str  # data | pooled | admin | none

    @property
    def interval_days(self) -> float:
        return float(np.exp(self.mu))


def _estimate(y: np.ndarray, m: np.ndarray, ss: np.ndarray) -> tuple[float, float, float]:
    """(mu, tau2, sigma2) from own log mean intervals ``y`` (m ≥ 1) and within SS."""
    df = float(np.sum(m - 1))
    sigma2 = float(np.sum(ss) / df) if df >= MIN_WITHIN_DF else np.nan
    if len(y) == 0:
        return np.nan, np.nan, sigma2
    noise = sigma2 / m if np.isfinite(sigma2) else np.zeros(len(y))
    tau2 = max(float(np.var(y) - np.mean(noise)), TAU2_FLOOR) if len(y) > 1 else np.nan
    if not np.isfinite(tau2):
        return float(np.mean(y)), tau2, sigma2
    w = 1.0 / (tau2 + noise)
    return float(np.sum(w * y) / np.sum(w)), tau2, sigma2


def estimate_priors(
    days: UnitDays,
    unit_group: np.ndarray,
    groups: pd.Index,
    admin_days: Mapping[str, float] | None = None,
) -> list[Prior]:
    """One prior per group code, plus a last entry (index -1) for units without group."""
    m = days.n_days.astype(np.float64) - 1
    has = m >= 1
    y = np.full(len(m), np.nan)
    y[has] = np.log((days.last_day[has] - days.first_day[has]) / m[has])
    ss = np.zeros(len(m))
    ss[has] = days.sumsq_log[has] - days.sum_log[has] ** 2 / m[has]
    ss = np.maximum(ss, 0.0)  # rounding
    pooled = _estimate(y[has], m[has], ss[has])
    pooled_k = pooled[2] / pooled[1] if np.isfinite(pooled[1] * pooled[2]) else K_DEFAULT

    n_groups = len(groups)
    # sort the units by group once; each group is then a slice
    g = np.where(unit_group < 0, n_groups, unit_group)[has]
    order = stable_argsort(g)
    bounds = np.searchsorted(g[order], np.arange(n_groups + 2))
    y_s, m_s, ss_s = y[has][order], m[has][order], ss[has][order]
    admin = dict(admin_days or {})
    priors = []
    for code in range(n_groups + 1):
        sl = slice(bounds[code], bounds[code + 1])
        units = sl.stop - sl.start
        mu, tau2, sigma2 = pooled
        source = "pooled"
        if code < n_groups and units >= MIN_UNITS:
            mu_g, tau2_g, sigma2_g = _estimate(y_s[sl], m_s[sl], ss_s[sl])
            sigma2 = sigma2_g if np.isfinite(sigma2_g) else sigma2
            mu, tau2, source = mu_g, tau2_g, "data"
        k = sigma2 / tau2 if np.isfinite(sigma2 * tau2) else pooled_k
        label = str(groups[code]) if code < n_groups else None
        if label in admin:
            mu, source = float(np.log(admin[label])), "admin"
        elif not np.isfinite(mu):
            source = "none"
        priors.append(Prior(mu, tau2, sigma2, float(k), int(units), source))
    return priors


def typical_interval(
    days: UnitDays, unit_group: np.ndarray, priors: list[Prior]
) -> tuple[np.ndarray, np.ndarray]:
    """(typical interval in days, weight of the unit's own rhythm) per unit."""
    m = np.maximum(days.n_days.astype(np.float64) - 1, 0)
    mu = np.array([p.mu for p in priors])[unit_group]  # code -1 picks the last entry
    k = np.array([p.k for p in priors])[unit_group]
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.log((days.last_day - days.first_day) / m)
    with np.errstate(divide="ignore", invalid="ignore"):  # m = k = 0 is masked anyway
        weight = np.where(m > 0, m / (m + k), 0.0)
    # without any prior the unit's own rhythm is all there is
    weight = np.where(np.isnan(mu) & (m > 0), 1.0, weight)
    log_interval = np.where(
        m > 0, weight * np.nan_to_num(own) + (1 - weight) * np.nan_to_num(mu), mu
    )
    log_interval = np.where((m == 0) & np.isnan(mu), np.nan, log_interval)
    return np.exp(log_interval), weight


def overdue_flags(
    days_since: np.ndarray,
    interval: np.ndarray,
    n_days: np.ndarray,
    *,
    tolerance: float,
    min_days: int,
    max_overdue_days: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(overdue, lost). Lost = gone longer than ``max_overdue_days``: no longer overdue."""
    lost = days_since > max_overdue_days
    with np.errstate(invalid="ignore"):
        late = days_since > interval * tolerance
    overdue = late & ~lost & (n_days >= min_days) & np.isfinite(interval)
    return overdue, lost

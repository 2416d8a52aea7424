"""Measures shared by the backtest and the time-split selection: ROC AUC, the share of a
value held by the top customers of a ranking, and calibration per decile."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

BINS = 10


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties count half."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    ok = np.isfinite(scores)
    scores, positive = scores[ok], positive[ok]
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(scores)  # average ranks for ties
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def top_capture(score: np.ndarray, value: np.ndarray, share: float) -> float:
    """Share of ``value``'s total held by the ``ceil(share · n)`` highest ``score``s.

    Missing scores come last; ties keep the input order. NaN when nothing has a score or
    the total is not positive.
    """
    value = np.asarray(value, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    total = value.sum()
    if not np.isfinite(score).any() or total <= 0:
        return math.nan
    key = np.nan_to_num(score, nan=-np.inf)
    top = np.argsort(-key, kind="stable")[: math.ceil(share * len(value))]
    return float(value[top].sum() / total)


@dataclass(frozen=True)
class CalibrationBin:
    customers: int
    predicted: float  # mean p_churn
    observed: float  # share that churned


def calibration(
    p_churn: np.ndarray, churned: np.ndarray, bins: int = BINS
) -> tuple[CalibrationBin, ...]:
    """Mean predicted vs observed churn in ``bins`` equal-size groups by p_churn."""
    p = np.asarray(p_churn, dtype=np.float64)
    ok = np.isfinite(p)
    p, y = p[ok], np.asarray(churned, dtype=bool)[ok]
    if len(p) == 0:
        return ()
    order = np.argsort(p, kind="stable")
    return tuple(
        CalibrationBin(len(part), float(p[part].mean()), float(y[part].mean()))
        for part in np.array_split(order, min(bins, len(p)))
    )


def calibration_error(bins: tuple[CalibrationBin, ...]) -> float:
    """Customer-weighted mean distance between predicted and observed churn."""
    total = sum(b.customers for b in bins)
    if not total:
        return math.nan
    return sum(b.customers * abs(b.predicted - b.observed) for b in bins) / total

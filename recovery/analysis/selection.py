"""Choose the models by a time-split backtest on the business's own history.

Before scoring as of ``as_of`` with a horizon of ``h`` days, the models are fitted as of
``as_of − h`` (the *recent* split) and, where the history allows, as of ``as_of − 2h``
(the *earlier* split), each on a sample of up to ``MAX_CUSTOMERS`` customers with a
valid order before it, and compared with what those customers did in the following
``h`` days (for the earlier split: up to ``as_of − h``, not ``as_of``) – data the run
already has, nothing after ``as_of``:

* **churn score** – the ROC AUC of each model's p_churn for "no completed or open order
  in the horizon" (mean over the splits). The model with the lowest AIC keeps
  ``p_churn`` unless another beats it by more than ``max(AUC_MARGIN, 1/√n)`` (n = the
  recent split's customers: about the noise of an AUC on n customers);
* **revenue ranking** – the share of the split's future revenue held by the top 10 % and
  top 20 % of each forecast. The candidates are every model's P(active) × E[orders |
  active] × Gamma-Gamma spend (``bgnbd`` is the textbook BG/NBD × Gamma-Gamma), ``blend``
  (their mean) and, where there are seasonal customers, each of these with the seasonal
  customers' forecast taken from their season (``+season``). The textbook stays unless
  another holds ``CAPTURE_MARGIN`` more at both shares on both splits
  (:func:`choose_revenue`);
* **seasonal customers' p_churn** – from their season's outlook (:mod:`.season`) where
  it had at least the year-round p_churn's AUC at a split with seasonal customers;
  otherwise, and when no split has seasonal customers (too little history before it:
  CDNOW's 150- and 180-day cut-offs), the year-round p_churn (on CDNOW and the synthetic
  data the customers found "seasonal" are so by chance);
* **calibration** – only with both splits: :func:`.calibrate.forward` fits each kind on
  the earlier split's final p_churn (with the seasonal customers' outlook where the run
  takes it) and applies scaling, half the way, when that lowers the recent split's
  decile error by at least ``calibrate.MARGIN`` against the raw p_churn, refitted on
  both.

A split needs at least one horizon of history before it, ``MIN_CUSTOMERS`` customers
and ``MIN_CLASS`` of them both coming back and staying away, and models that can be
fitted; without the recent split the choice is the AIC's and the blend, uncalibrated
(``reason`` says why: ``history``, ``fit``; ``calibration_history`` when only the
earlier split is missing). Cost: the models fitted twice on ≤ 10,000 customers – about
0.3–0.4 s CPU at 1 M lines (docs/analysis-models.md) – so it runs at every run, and its
result (AUCs, captures, calibration errors, the calibrator) is stored with the run's
model description (``time_split``) and on the analysis job's row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import calibrate, clv
from .metrics import roc_auc, top_capture
from .prepare import VALID, VOID, Prepared
from .rhythm import unit_days
from .season import Judged, judge_seasons, outlook
from .settings import AnalysisSettings

MAX_CUSTOMERS = 10_000
MIN_CUSTOMERS = 100
MIN_CLASS = 20
TOP_SHARES = (0.1, 0.2)
AUC_MARGIN = 0.005
CAPTURE_MARGIN = 0.002
DEFAULT_REVENUE = "bgnbd"


@dataclass
class Split:
    choice: clv.Choice | None
    reason: str | None = None  # why there is no choice (or no calibration)
    split_day: int | None = None
    customers: int = 0
    churned: int = 0
    auc: dict[str, float] = field(default_factory=dict)
    capture: dict[str, float] = field(default_factory=dict)  # mean top-10/20 % share
    calibration_errors: dict[str, float] = field(default_factory=dict)
    season_auc: list[list[float]] = field(default_factory=list)  # per split: without, with

    def to_dict(self) -> dict[str, Any]:
        c = self.choice
        return {
            "reason": self.reason,
            "split_day": self.split_day,
            "customers": self.customers,
            "churned": self.churned,
            "auc": _json_safe(self.auc),
            "capture": _json_safe(self.capture),
            "calibration_errors": _json_safe(self.calibration_errors),
            "churn_model": c.churn if c else None,
            "revenue_model": c.revenue if c else None,
            "seasonal_revenue": c.seasonal_revenue if c else None,
            "seasonal_churn": c.seasonal_churn if c else None,
            "season_auc": [[float(v) for v in a] for a in self.season_auc],
            "calibrator": c.calibrator.to_dict() if c and c.calibrator else None,
            "calibrated_model": c.calibrated if c else None,
        }


def split_inputs(
    prep: Prepared,
    split_day: int,
    max_customers: int = MAX_CUSTOMERS,
    settings: AnalysisSettings | None = None,
    end_day: int | None = None,
) -> tuple[clv.ModelInputs, np.ndarray, np.ndarray, Judged]:
    """Model inputs as of ``split_day`` for a sample of the customers who ordered before,
    whether each stayed away in ``(split_day, end_day]`` (default: up to ``as_of``), their
    revenue there and their seasons as of ``split_day``."""
    valid = prep.o_state == VALID
    before = valid & (prep.o_day <= split_day)
    seen = np.flatnonzero(np.bincount(prep.o_cust[before], minlength=prep.n_customers))
    if len(seen) > max_customers:
        seen = np.sort(np.random.default_rng(0).choice(seen, max_customers, replace=False))
    code = np.full(prep.n_customers, -1, dtype=np.int64)
    code[seen] = np.arange(len(seen))
    mine = code[prep.o_cust]
    sel = before & (mine >= 0)
    unit, day, amount = mine[sel], prep.o_day[sel], prep.o_amount[sel]
    k = len(seen)
    days = unit_days(unit, day, k)
    on_first = day == days.first_day[unit]
    end = prep.as_of_day if end_day is None else end_day
    after = (prep.o_day > split_day) & (prep.o_day <= end) & (mine >= 0)
    came_back = np.zeros(k, dtype=bool)
    came_back[mine[after & (prep.o_state != VOID)]] = True
    future = np.bincount(mine[after & valid], weights=prep.o_amount[after & valid], minlength=k)
    inputs = clv.ModelInputs(
        n_days=days.n_days,
        first_day=days.first_day,
        last_day=days.last_day,
        as_of_day=split_day,
        revenue=np.bincount(unit, weights=amount, minlength=k),
        first_day_revenue=np.bincount(unit[on_first], weights=amount[on_first], minlength=k),
        interval_days=np.full(k, np.nan),
        sum_log=days.sum_log,
        sumsq_log=days.sumsq_log,
    )
    season = judge_seasons(unit, day, days, split_day, settings or AnalysisSettings())
    return inputs, ~came_back, future, season


def _json_safe(values: dict[str, float]) -> dict[str, float | None]:
    return {k: (float(v) if np.isfinite(v) else None) for k, v in values.items()}


SEASONAL = "+season"  # suffix of a forecast whose seasonal customers get their season's


@dataclass
class _Split:
    day: int
    horizon_days: int
    churned: np.ndarray
    future: np.ndarray
    cands: clv.Candidates
    season: Judged
    n_days: np.ndarray

    def _outlook(self, churn_model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The seasonal customers' outlook from ``churn_model``'s p_churn (None: none)."""
        if not self.season.seasonal.any() or churn_model not in self.cands.models:
            return None
        p_any = 1.0 - self.cands.models[churn_model].p_churn
        return outlook(self.season, self.n_days, p_any, self.day, self.horizon_days)

    def forecasts(self, churn_model: str) -> dict[str, np.ndarray]:
        """Every revenue forecast, and where there are seasonal customers each also with
        their season's outlook (as the run applies it, with ``churn_model``'s p_churn)."""
        plain = {name: self.cands.revenue(name) for name in self.cands.revenue_names}
        seen = self._outlook(churn_model)
        if seen is None:
            return plain
        p_alive, _, orders = seen
        seasonal = p_alive * orders * self.cands.spend
        return plain | {
            name + SEASONAL: np.where(self.season.seasonal, seasonal, value)
            for name, value in plain.items()
        }

    def p_churn(self, churn_model: str, seasonal_churn: bool) -> np.ndarray:
        """``churn_model``'s p_churn as the run gives it before the calibration: the
        seasonal customers' from their season's outlook when ``seasonal_churn``."""
        p = self.cands.models[churn_model].p_churn
        seen = self._outlook(churn_model) if seasonal_churn else None
        return p if seen is None else np.where(self.season.seasonal, 1.0 - seen[1], p)

    def season_auc(self, churn_model: str) -> tuple[float, float] | None:
        """ROC AUC of ``churn_model``'s p_churn without and with the seasonal customers'
        outlook (None: no seasonal customers at this split)."""
        seen = self._outlook(churn_model)
        if seen is None:
            return None
        p = self.cands.models[churn_model].p_churn
        with_season = np.where(self.season.seasonal, 1.0 - seen[1], p)
        return roc_auc(p, self.churned), roc_auc(with_season, self.churned)


def _split(prep: Prepared, day: int, horizon_days: int, settings: AnalysisSettings) -> _Split | str:
    """The candidates fitted as of ``day`` and the outcome after it, or why not."""
    valid_days = prep.o_day[prep.o_state == VALID]
    if not len(valid_days) or day - int(valid_days.min()) < horizon_days:
        return "history"  # the fit needs at least one horizon of history before the split
    # the outcome in the one horizon after the split, as the run predicts it
    inputs, churned, future, season = split_inputs(
        prep, day, settings=settings, end_day=day + horizon_days
    )
    n, lost = len(churned), int(churned.sum())
    if n < MIN_CUSTOMERS or min(lost, n - lost) < MIN_CLASS:
        return "history"
    cands = clv.candidates(inputs, horizon_days)
    if cands.aic_choice is None:
        return "fit"
    return _Split(day, horizon_days, churned, future, cands, season, inputs.n_days)


def choose_revenue(
    forecasts: list[dict[str, np.ndarray]], futures: list[np.ndarray]
) -> tuple[str, dict[str, float]]:
    """The revenue forecast for the run and each forecast's mean capture on the splits.

    The textbook BG/NBD × Gamma-Gamma (``bgnbd``) stays unless another forecast holds at
    least ``CAPTURE_MARGIN`` more of the future revenue at *both* shares on *both* splits
    (with one split there is no second period to confirm it: the textbook stays); among
    those the one with the highest mean capture.
    """
    shares = [
        {
            name: np.array([top_capture(value, future, q) for q in TOP_SHARES])
            for name, value in split.items()
        }
        for split, future in zip(forecasts, futures, strict=True)
    ]
    names = [name for name in shares[0] if all(name in s for s in shares)]
    capture = {name: _mean([float(s[name].mean()) for s in shares]) for name in names}
    ahead = [
        name
        for name in names
        if len(shares) >= 2
        and all(np.all(s[name] >= s[DEFAULT_REVENUE] + CAPTURE_MARGIN) for s in shares)
    ]
    if DEFAULT_REVENUE not in names or not ahead:
        return DEFAULT_REVENUE, capture
    return max(ahead, key=capture.__getitem__), capture


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def select(prep: Prepared, horizon_days: int, settings: AnalysisSettings | None = None) -> Split:
    """The time-split choice of churn model, revenue forecast and calibrator."""
    h = int(horizon_days)
    settings = settings or AnalysisSettings()
    recent = _split(prep, prep.as_of_day - h, h, settings)
    if isinstance(recent, str):
        return Split(None, recent, prep.as_of_day - h)
    earlier = _split(prep, prep.as_of_day - 2 * h, h, settings)
    splits = [recent] if isinstance(earlier, str) else [recent, earlier]
    cands = recent.cands
    # a model the earlier split could not fit is judged on the recent split alone
    auc = {
        name: _mean(
            [
                roc_auc(s.cands.models[name].p_churn, s.churned)
                for s in splits
                if name in s.cands.models
            ]
        )
        for name in cands.models
    }
    best = max(auc, key=auc.__getitem__)
    # the likelihood's choice stays unless the backtest clearly prefers another model:
    # by more than the noise of an AUC on this many customers
    margin = max(AUC_MARGIN, 1 / np.sqrt(len(recent.churned)))
    churn = best if auc[best] >= auc[cands.aic_choice] + margin else None
    used = churn or cands.aic_choice
    # the seasonal customers' p_churn comes from their season only where a split with
    # seasonal customers showed it ranking churners at least as well as the year-round
    # one; without such a split (too little history before it to find seasons) the
    # year-round p_churn stays, like the textbook forecast and the raw p_churn
    season_auc = [a for a in (s.season_auc(used) for s in splits) if a is not None]
    seasonal_churn = any(season >= plain for plain, season in season_auc)
    revenue, capture = choose_revenue(
        [s.forecasts(used) for s in splits], [s.future for s in splits]
    )
    calibrator, errors = None, {}
    if not isinstance(earlier, str) and used in earlier.cands.models:
        calibrator, errors = calibrate.forward(
            earlier.p_churn(used, seasonal_churn),
            earlier.churned,
            recent.p_churn(used, seasonal_churn),
            recent.churned,
        )
    return Split(
        clv.Choice(
            churn,
            revenue.removesuffix(SEASONAL),
            calibrator,
            used if calibrator else None,
            seasonal_revenue=revenue.endswith(SEASONAL),
            seasonal_churn=seasonal_churn,
        ),
        None if calibrator or errors else "calibration_history",
        recent.day,
        len(recent.churned),
        int(recent.churned.sum()),
        auc=auc,
        capture=capture,
        calibration_errors=errors,
        season_auc=[list(a) for a in season_auc],
    )

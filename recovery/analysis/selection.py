"""Choose the models by a time-split backtest on the business's own history.

At every run, before scoring as of ``as_of`` with a horizon of ``h`` days, the models are
fitted as of ``split = as_of − h`` on a sample of up to ``MAX_CUSTOMERS`` customers with a
valid order up to ``split``, and compared with what those customers did in
``(split, as_of]`` – data the run already has, nothing after ``as_of``:

* **churn score** – the model whose p_churn has the highest ROC AUC for "no completed
  or open order in the horizon" gives ``p_churn`` (AIC only when the split cannot be
  made);
* **revenue ranking** – the candidate forecast whose top 10 % and top 20 % of customers
  hold the largest share of the split's future revenue (mean of the two) gives
  ``expected_revenue``; the candidates are every model's P(active) × E[orders | active]
  × Gamma-Gamma spend (``bgnbd`` is the textbook BG/NBD × Gamma-Gamma);
* **calibration** – the chosen model's p_churn on the split is calibrated
  (:mod:`.calibrate`) and the calibrator applied to the run's p_churn.

The split is skipped (``reason`` says why; AIC choice, no calibration) when fewer than
``MIN_CUSTOMERS`` customers ordered before the split, when fewer than ``MIN_CLASS``
of them came back or stayed away, or when the models cannot be fitted on the split.
Cost: one fit of the models on ≤ 20,000 customers (about a second) – the same order as
the run's own fits on its samples, so it runs every time and is stored with the run's
model description (``time_split``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import calibrate, clv
from .metrics import roc_auc, top_capture
from .prepare import VALID, VOID, Prepared
from .rhythm import unit_days

MAX_CUSTOMERS = 20_000
MIN_CUSTOMERS = 100
MIN_CLASS = 20
TOP_SHARES = (0.1, 0.2)
AUC_MARGIN = 0.005
CAPTURE_MARGIN = 0.005


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

    def to_dict(self) -> dict[str, Any]:
        c = self.choice
        return {
            "reason": self.reason,
            "split_day": self.split_day,
            "customers": self.customers,
            "churned": self.churned,
            "auc": self.auc,
            "capture": self.capture,
            "calibration_errors": self.calibration_errors,
            "churn_model": c.churn if c else None,
            "revenue_model": c.revenue if c else None,
            "calibrator": c.calibrator.to_dict() if c and c.calibrator else None,
        }


def split_inputs(
    prep: Prepared, split_day: int, max_customers: int = MAX_CUSTOMERS
) -> tuple[clv.ModelInputs, np.ndarray, np.ndarray]:
    """Model inputs as of ``split_day`` for a sample of the customers who ordered before,
    whether each stayed away in ``(split_day, as_of]`` and their revenue there."""
    valid = prep.o_state == VALID
    before = valid & (prep.o_day <= split_day)
    seen = np.unique(prep.o_cust[before])
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
    after = (prep.o_day > split_day) & (mine >= 0)
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
    return inputs, ~came_back, future


@dataclass
class _Split:
    day: int
    churned: np.ndarray
    future: np.ndarray
    cands: clv.Candidates


def _split(prep: Prepared, day: int, horizon_days: int) -> _Split | str:
    """The candidates fitted as of ``day`` and the outcome after it, or why not."""
    valid_days = prep.o_day[prep.o_state == VALID]
    if not len(valid_days) or day - int(valid_days.min()) < horizon_days:
        return "history"  # the fit needs at least one horizon of history before the split
    inputs, churned, future = split_inputs(prep, day)
    n, lost = len(churned), int(churned.sum())
    if n < MIN_CUSTOMERS or min(lost, n - lost) < MIN_CLASS:
        return "history"
    cands = clv.candidates(inputs, horizon_days)
    if cands.aic_choice is None:
        return "fit"
    return _Split(day, churned, future, cands)


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def select(prep: Prepared, horizon_days: int) -> Split:
    """The time-split choice of churn model, revenue forecast and calibrator."""
    h = int(horizon_days)
    recent = _split(prep, prep.as_of_day - h, h)
    if isinstance(recent, str):
        return Split(None, recent, prep.as_of_day - h)
    earlier = _split(prep, prep.as_of_day - 2 * h, h)
    splits = [recent] if isinstance(earlier, str) else [recent, earlier]
    cands = recent.cands
    auc = {
        name: _mean([roc_auc(s.cands.models[name].p_churn, s.churned) for s in splits])
        for name in cands.models
    }
    best = max(auc, key=auc.__getitem__)
    # the likelihood's choice stays unless the backtest clearly prefers another model
    churn = best if auc[best] >= auc[cands.aic_choice] + AUC_MARGIN else None
    used = churn or cands.aic_choice
    capture = {
        name: _mean(
            [top_capture(s.cands.revenue(name), s.future, q) for s in splits for q in TOP_SHARES]
        )
        for name in cands.revenue_names
    }
    default = clv.default_revenue(cands)
    top = max(capture, key=lambda k: np.nan_to_num(capture[k], nan=-1.0))
    # the blend stays unless one model's forecast clearly captures more
    revenue = top if capture[top] >= capture[default] + CAPTURE_MARGIN else default
    calibrator, errors = None, {}
    if not isinstance(earlier, str) and used in earlier.cands.models:
        calibrator, errors = calibrate.forward(
            earlier.cands.models[used].p_churn,
            earlier.churned,
            cands.models[used].p_churn,
            recent.churned,
        )
    return Split(
        clv.Choice(churn, revenue, calibrator),
        None if calibrator or errors else "calibration_history",
        recent.day,
        len(recent.churned),
        int(recent.churned.sum()),
        auc=auc,
        capture=capture,
        calibration_errors=errors,
    )

"""A6 backtest: score as of a past date, then look at what happened in the horizon.

Population: customers with at least one valid order up to ``as_of`` and no exclusion.
Outcome ("churned"): no order in ``(as_of, as_of + horizon]`` – an order counts when it
is completed or open (the customer did come back); cancelled and returned ones do not.

Per rule (``decline``, ``overdue``, ``model`` = p_churn ≥ 0.5, ``any_flag`` = decline or
overdue): flagged count, true positives (flagged and churned), precision = TP / flagged,
recall = TP / churned, the 12-month revenue the flagged customers held and the part of
it held by flagged customers who churned.

*Reference revenue* here is always the valid revenue of the 12 months up to ``as_of``
(independent of ``window_months``); *lost revenue* is the reference revenue of the
customers who churned. The top 20 % are the ``ceil(0.2 · population)`` customers with the
highest revenue_at_risk (ties in input order); we report the share of all reference
revenue they hold and the share of the lost revenue they hold.

*Ranking*: for each ranking in ``RANKINGS`` – ``expected_revenue``, ``revenue_at_risk``,
``past_revenue`` (the reference revenue) and ``bgnbd_gg`` (the textbook BG/NBD ×
Gamma-Gamma forecast) – the share of the population's *future revenue* (valid revenue
in ``(as_of, as_of + horizon]``) and of its *lost revenue* (above) held by the top 10 %
and top 20 % of customers (``ceil(share · population)``, highest score first, missing
scores last, ties in input order; :func:`.metrics.top_capture`).

*Calibration*: the customers with a ``p_churn`` are cut into ten groups of (nearly)
equal size by ascending p_churn; per group the mean predicted p_churn and the share that
really churned. A calibrated model has the two close in every group;
``calibration_error`` is their mean absolute difference (over customers, not groups);
``calibration_uncalibrated`` and its error are the same for the model's p_churn before
the calibration learnt on the time split before ``as_of`` (:mod:`.selection`).

ROC AUC is the Mann–Whitney statistic with average ranks for ties, for ``p_churn`` (the
model :mod:`.clv` chose, named in ``model['model']``), for plain
``days_since_last_order`` as a baseline and, for transparency, for plain BG/NBD's
p_churn (``auc_bgnbd``); customers without a score are left out of the AUC.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from .decline import Window, months_back, window_revenue
from .metrics import CalibrationBin, calibration, calibration_error, roc_auc, top_capture
from .prepare import VALID, VOID, _amounts, day_number, prepare, state_classes, to_day, utc_days
from .score import score_prepared
from .settings import AnalysisSettings

TOP_SHARE = 0.2


@dataclass(frozen=True)
class RuleMetrics:
    rule: str
    flagged: int
    true_positives: int
    precision: float
    recall: float
    reference_revenue: float  # 12-month revenue of the flagged customers
    lost_revenue: float  # of the flagged customers who churned


@dataclass(frozen=True)
class RankingMetrics:
    """How much the top customers of one ranking hold (shares of the population's total)."""

    ranking: str  # expected_revenue, revenue_at_risk, past_revenue, bgnbd_gg
    top10_future: float  # of the revenue in the horizon
    top20_future: float
    top10_lost: float  # of the lost revenue
    top20_lost: float


RANKINGS = {
    "expected_revenue": "expected_revenue",
    "revenue_at_risk": "revenue_at_risk",
    "past_revenue": None,  # the reference revenue (12 months up to as_of)
    "bgnbd_gg": "expected_revenue_bgnbd",
}


@dataclass(frozen=True)
class BacktestResult:
    as_of: date
    horizon_days: int
    horizon_end: date
    data_end: date
    population: int
    churned: int
    base_rate: float
    rules: tuple[RuleMetrics, ...]
    auc_p_churn: float
    auc_days_since_last_order: float
    auc_bgnbd: float  # plain BG/NBD p_churn, for transparency (NaN when not fitted)
    mean_p_churn: float  # over the customers with a p_churn; compare with base_rate
    calibration: tuple[CalibrationBin, ...]
    calibration_error: float
    top_share: float
    top_customers: int
    top_reference_revenue_share: float
    top_lost_revenue_share: float
    reference_revenue: float
    lost_revenue: float
    model: dict[str, Any]
    settings: dict[str, Any]
    future_revenue: float = math.nan  # valid revenue of the population in the horizon
    ranking: tuple[RankingMetrics, ...] = ()
    calibration_uncalibrated: tuple[CalibrationBin, ...] = ()
    calibration_error_uncalibrated: float = math.nan

    def rule(self, name: str) -> RuleMetrics:
        return next(r for r in self.rules if r.rule == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: dates as ISO strings, NaN as None."""
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> BacktestResult:
        """The result again from :meth:`to_dict` (e.g. stored on a job row)."""
        values = {k: _unjson(v) for k, v in values.items()}
        for name in ("as_of", "horizon_end", "data_end"):
            values[name] = date.fromisoformat(values[name])
        values["rules"] = tuple(RuleMetrics(**r) for r in values["rules"])
        for name in ("calibration", "calibration_uncalibrated"):
            values[name] = tuple(CalibrationBin(**b) for b in values.get(name, ()))
        values["ranking"] = tuple(RankingMetrics(**r) for r in values.get("ranking", ()))
        return cls(**values)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _unjson(value: Any) -> Any:
    """None back to NaN in numbers and the lists of numbers (the dicts stay as stored)."""
    if value is None:
        return math.nan
    if isinstance(value, list | tuple):
        return [{k: math.nan if v is None else v for k, v in item.items()} for item in value]
    return value


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else math.nan


def _horizon(
    lines: pd.DataFrame, start_day: int, end_day: int, basis: str
) -> tuple[np.ndarray, pd.Series]:
    """Customer ids with a completed or open order in ``(start_day, end_day]``, and the
    valid revenue per customer id there."""
    day, missing = utc_days(lines["ordered_at"])
    state = state_classes(lines.get("state"), len(lines))
    inside = (day > start_day) & (day <= end_day) & ~missing
    ids = lines["customer_id"].to_numpy()
    valid = inside & (state == VALID)
    revenue = pd.Series(_amounts(lines, basis)[valid]).groupby(ids[valid]).sum()
    return pd.unique(ids[inside & (state != VOID)]), revenue


class BacktestRefused(ValueError):
    """The history cannot answer this backtest: ``reason`` ("no_orders", "horizon") and
    the ``facts`` (JSON-able) let the page say why in the reader's language."""

    def __init__(self, text: str, reason: str, **facts: Any):
        super().__init__(text)
        self.reason = reason
        self.facts = facts


def backtest(
    lines: pd.DataFrame,
    as_of: date | datetime | str,
    horizon_days: int | None = None,
    settings: AnalysisSettings | None = None,
) -> BacktestResult:
    """Score with the history up to ``as_of`` and compare with the following horizon."""
    settings = settings or AnalysisSettings()
    horizon = int(horizon_days or settings.horizon_days)
    settings = replace(settings, horizon_days=horizon)
    as_of_ts = to_day(as_of)
    horizon_end = as_of_ts + pd.Timedelta(days=horizon)
    day, missing = utc_days(lines["ordered_at"])
    if missing.all():
        raise BacktestRefused("the data contain no order date", "no_orders")
    data_end = pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(day[~missing].max()))
    if horizon_end > data_end:
        raise BacktestRefused(
            f"the horizon of {horizon} days after {as_of_ts.date()} ends on "
            f"{horizon_end.date()}, but the data end on {data_end.date()}: choose an "
            f"earlier date or a shorter horizon",
            "horizon",
            horizon=horizon,
            as_of=as_of_ts.date().isoformat(),
            horizon_end=horizon_end.date().isoformat(),
            data_end=data_end.date().isoformat(),
        )

    prep = prepare(lines, as_of_ts, settings.amount_basis)
    scores = score_prepared(prep, settings, None)
    reference = window_revenue(prep, Window(months_back(as_of_ts, 12), as_of_ts)).revenue
    in_pop = (scores["orders"].to_numpy() > 0) & scores["excluded_reason"].isna().to_numpy()
    pop = scores[in_pop]
    reference = reference[in_pop]
    back, after = _horizon(
        lines, day_number(as_of_ts), day_number(horizon_end), settings.amount_basis
    )
    churned = ~pop["customer_id"].isin(back).to_numpy()
    future = pop["customer_id"].map(after).fillna(0.0).to_numpy(dtype=np.float64)
    p_churn = pop["p_churn"].to_numpy()
    flags = {
        "decline": pop["flag_decline"].to_numpy(),
        "overdue": pop["flag_overdue"].to_numpy(),
        "model": np.nan_to_num(p_churn, nan=0.0) >= 0.5,
    }
    flags["any_flag"] = flags["decline"] | flags["overdue"]
    rules = tuple(
        RuleMetrics(
            rule=name,
            flagged=int(mask.sum()),
            true_positives=int((mask & churned).sum()),
            precision=_ratio((mask & churned).sum(), mask.sum()),
            recall=_ratio((mask & churned).sum(), churned.sum()),
            reference_revenue=float(reference[mask].sum()),
            lost_revenue=float(reference[mask & churned].sum()),
        )
        for name, mask in flags.items()
    )
    n_top = math.ceil(TOP_SHARE * len(pop))
    risk = np.nan_to_num(pop["revenue_at_risk"].to_numpy(), nan=-np.inf)
    top = np.zeros(len(pop), dtype=bool)
    top[np.argsort(-risk, kind="stable")[:n_top]] = True
    lost = reference * churned
    bins = calibration(p_churn, churned)
    raw_bins = calibration(pop["p_churn_uncalibrated"].to_numpy(), churned)
    ranking = tuple(
        RankingMetrics(
            name,
            *(top_capture(score, value, share) for value in (future, lost) for share in (0.1, 0.2)),
        )
        for name, column in RANKINGS.items()
        for score in [reference if column is None else pop[column].to_numpy()]
    )
    return BacktestResult(
        as_of=as_of_ts.date(),
        horizon_days=horizon,
        horizon_end=horizon_end.date(),
        data_end=data_end.date(),
        population=len(pop),
        churned=int(churned.sum()),
        base_rate=_ratio(churned.sum(), len(pop)),
        rules=rules,
        auc_p_churn=roc_auc(p_churn, churned),
        auc_days_since_last_order=roc_auc(
            pop["days_since_last_order"].to_numpy(dtype="float64", na_value=np.nan), churned
        ),
        auc_bgnbd=roc_auc(pop["p_churn_bgnbd"].to_numpy(), churned),
        mean_p_churn=float(np.nanmean(p_churn)) if np.isfinite(p_churn).any() else math.nan,
        calibration=bins,
        calibration_error=calibration_error(bins),
        top_share=TOP_SHARE,
        top_customers=n_top,
        top_reference_revenue_share=_ratio(reference[top].sum(), reference.sum()),
        top_lost_revenue_share=_ratio(lost[top].sum(), lost.sum()),
        reference_revenue=float(reference.sum()),
        lost_revenue=float(lost.sum()),
        model=scores.attrs.get("model", {}),
        settings=settings.to_dict(),
        future_revenue=float(future.sum()),
        ranking=ranking,
        calibration_uncalibrated=raw_bins,
        calibration_error_uncalibrated=calibration_error(raw_bins),
    )

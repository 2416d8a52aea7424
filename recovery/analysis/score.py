"""Score every customer (A1–A5) and every customer × product group (A2, R).

See :mod:`.prepare` for how lines are read (UTC days, states, the ``as_of`` cut),
:mod:`.decline`, :mod:`.rhythm` and :mod:`.clv` for the rules, and :mod:`.reasons`
for the texts. ``excluded_reason`` is the first of, in this order: no valid order
(``open_order`` / ``cancelled_only`` / ``no_orders``), the caller's ``excluded`` mapping
(its value, e.g. ``no_interest``; empty values become ``excluded``), ``customer_group``,
``company`` (of the last valid order), ``open_order``. Excluded customers carry no flag.
Every day count and window looks at all companies together, so an order anywhere clears
a flag everywhere.

A customer's rhythm is shrunk towards the prior of the product group that has the
largest share of her last order (``last_product_group``).

A *seasonal* customer (:mod:`.season`: her order days fall into the same few months in
at least two years) is judged against her season instead: not overdue out of season,
flagged when a season passed without an order (reason part ``season``), her next order
expected at the next season's start, her revenue compared with the same period last
year whatever ``comparison`` says, and her ``p_churn``/``expected_orders`` only count
the part of her season the horizon reaches (:func:`.season.outlook`) – where the time
split showed that it ranks churners at least as well as the year-round p_churn
(``seasonal_churn``, :mod:`.selection`); her ``expected_revenue`` takes the season only
where the split showed that it ranks better (``seasonal_revenue``). The calibration
(:mod:`.calibrate`) comes last, on this final p_churn, and keeps its order.

``expected_next_order`` is the last order day plus the typical interval (A2), not the
BG/NBD waiting time: BG/NBD treats orders as a memoryless Poisson process, so for a
customer who orders every 30 days and ordered 5 days ago it would still expect the next
order about a month from *now*. The rhythm knows the regularity, and "due on" is what
sales staff and the rebook reminder (R6) need; the model's view is in ``p_churn``, which
comes from the customer-base model that fits the business's history best (:mod:`.clv`:
on rhythmic businesses the renewal model, which knows each customer's regularity too).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from . import clv, selection
from .customers import NO_EXCLUSION, CustomerFacts, categorical, customer_facts, customer_seasons
from .decline import decline_flags, window_revenue, windows
from .prepare import Prepared, from_day_numbers, prepare
from .reasons import reason_columns
from .rhythm import estimate_priors, overdue_flags, typical_interval
from .season import Judged, outlook
from .settings import AnalysisSettings

Excluded = Mapping[Any, str | None]
YEAR_AGO = "same_period_last_year"


def _nullable_int(values: np.ndarray, missing: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int32), missing)


def score_prepared(
    prep: Prepared,
    settings: AnalysisSettings,
    excluded: Excluded | None,
    facts: CustomerFacts | None = None,
    season: Judged | None = None,
) -> pd.DataFrame:
    """:func:`score_customers` on already prepared lines (the backtest reuses them).

    ``facts`` and ``season`` (:func:`.customers.customer_facts` with the last group and
    :func:`.customers.customer_seasons` of the same ``prep``, settings and exclusions)
    are computed here unless given.
    """
    n = prep.n_customers
    if facts is None:
        facts = customer_facts(prep, settings, excluded)
    days = facts.days
    active = days.n_days > 0
    not_excluded = facts.excluded == NO_EXCLUSION

    if season is None:
        season = customer_seasons(prep, facts, settings)
    seasonal = season.seasonal
    current_w, reference_w = windows(prep.as_of, settings.window_months, settings.comparison)
    current, reference = window_revenue(prep, current_w), window_revenue(prep, reference_w)
    comparison = np.full(n, settings.comparison, dtype=object)
    if settings.comparison != YEAR_AGO and seasonal.any():  # seasons compare with last year
        year_w = windows(prep.as_of, settings.window_months, YEAR_AGO)[1]
        year = window_revenue(prep, year_w)
        reference.revenue = np.where(seasonal, year.revenue, reference.revenue)
        reference.orders = np.where(seasonal, year.orders, reference.orders)
        comparison[seasonal] = YEAR_AGO
    pct, flag_decline = decline_flags(
        current,
        reference,
        min_decline_pct=settings.min_decline_pct,
        min_reference_revenue=settings.min_reference_revenue,
        min_reference_orders=settings.min_reference_orders,
    )
    flag_decline &= not_excluded

    priors = estimate_priors(days, facts.last_group, prep.groups, settings.group_default_intervals)
    interval, weight = typical_interval(days, facts.last_group, priors)
    since = np.where(active, prep.as_of_day - days.last_day, 0)
    flag_overdue, lost = overdue_flags(
        since,
        interval,
        days.n_days,
        tolerance=settings.overdue_tolerance,
        min_days=settings.min_orders_for_rhythm,
        max_overdue_days=settings.max_overdue_days,
    )
    flag_overdue = np.where(seasonal, season.flag, flag_overdue)
    flag_overdue &= not_excluded & active
    lost &= active

    split = selection.select(prep, settings.horizon_days, settings)
    model = _model(facts, prep.as_of_day, interval, active, settings.horizon_days, split.choice)
    model.info["time_split"] = split.to_dict()
    choice = split.choice
    seasonal_revenue = seasonal.any() and choice is not None and choice.seasonal_revenue
    seasonal_churn = seasonal.any() and (choice is None or choice.seasonal_churn)
    model.info["seasonal_revenue"] = bool(seasonal_revenue)
    model.info["seasonal_churn"] = bool(seasonal_churn)
    if seasonal_churn or seasonal_revenue:  # orders come in the season: what the horizon reaches
        p_alive, p_order, orders_in_season = outlook(
            season, days.n_days, 1.0 - model.p_churn, prep.as_of_day, settings.horizon_days
        )
        if seasonal_revenue:
            # the forecast, where the time split showed that it ranks better: P(active) ×
            # the season's orders in the horizon × spend
            model.expected_revenue = np.where(
                seasonal, p_alive * orders_in_season * model.expected_spend, model.expected_revenue
            )
        if seasonal_churn:  # likewise, unless the split showed the year-round one better
            model.p_alive = np.where(seasonal, p_alive, model.p_alive)
            model.p_churn = np.where(seasonal, 1.0 - p_order, model.p_churn)
            model.expected_orders = np.where(seasonal, orders_in_season, model.expected_orders)
    # the calibrator was learnt on this final p_churn at the splits (seasonal customers'
    # outlook included) and keeps its order: the ranking is the uncalibrated one's
    model.p_churn_raw = model.p_churn
    if model.info.get("calibrated") and choice is not None and choice.calibrator is not None:
        model.p_churn = choice.calibrator.apply(model.p_churn)

    decline_params = {
        "current_revenue": np.round(current.revenue, 2),
        "reference_revenue": np.round(reference.revenue, 2),
        "decline_pct": np.round(pct, 1),
        "window_months": settings.window_months,
        "comparison": comparison,
        "currency": settings.currency,
    }
    overdue_params = {
        "typical_interval_days": np.round(interval, 1),
        "days_since_last_order": since,
        "order_days": days.n_days,
    }
    season_params = {**season.params, "days_since_last_order": since, "season_named": ~flag_decline}
    key, params, text = reason_columns(
        n,
        [
            ("decline", flag_decline & ~seasonal, decline_params),
            ("decline", flag_decline & seasonal, {**decline_params, **season.label_params}),
            ("overdue", flag_overdue & ~seasonal, overdue_params),
            ("season", flag_overdue & seasonal, season_params),
        ],
        settings.locale,
        settings.currency,
    )
    next_order = np.where(active, days.last_day + np.round(interval), np.nan)
    next_order = np.where(seasonal, season.state.expected_next, next_order)
    frame = pd.DataFrame(
        {
            "customer_id": prep.customer_ids,
            "orders": facts.orders,
            "order_days": days.n_days,
            "first_order": from_day_numbers(np.where(active, days.first_day, np.nan)),
            "last_order": from_day_numbers(np.where(active, days.last_day, np.nan)),
            "days_since_last_order": _nullable_int(since, ~active),
            "typical_interval_days": interval,
            "rhythm_weight": weight,
            "expected_next_order": from_day_numbers(next_order),
            **season.columns(),
            "p_alive": model.p_alive,
            "p_churn": model.p_churn,
            "p_churn_bgnbd": model.p_churn_bgnbd,
            "p_churn_uncalibrated": model.p_churn_raw,
            "expected_orders": model.expected_orders,
            "expected_spend": model.expected_spend,
            "expected_revenue": model.expected_revenue,
            "expected_revenue_bgnbd": model.expected_revenue_bgnbd,
            "revenue_at_risk": model.revenue_at_risk,
            "reference_revenue": reference.revenue,
            "current_revenue": current.revenue,
            "reference_orders": reference.orders,
            "current_orders": current.orders,
            "decline_pct": pct,
            "flag_decline": flag_decline,
            "flag_overdue": flag_overdue,
            "lost": lost,
            "excluded_reason": np.where(not_excluded, None, facts.excluded),
            "reason_key": key,
            "reason_params": params,
            "reason": text,
            "company": categorical(facts.company, prep.companies),
            "customer_group": categorical(facts.customer_group, prep.customer_groups),
            "last_product_group": categorical(facts.last_group, prep.groups),
        },
        copy=False,  # no consolidation copy of a million-row frame
    )
    frame.attrs["model"] = model.info
    frame.attrs["windows"] = {
        "current": [str(current_w.first_day.date()), str(current_w.end.date())],
        "reference": [str(reference_w.first_day.date()), str(reference_w.end.date())],
    }
    return frame


def _model(
    facts: CustomerFacts,
    as_of_day: int,
    interval: np.ndarray,
    active: np.ndarray,
    horizon: int,
    choice: clv.Choice | None,
) -> clv.ModelResult:
    """Run the CLV model on customers with a valid order; NaN for the others."""
    d = facts.days
    inputs = clv.ModelInputs(
        n_days=d.n_days[active],
        first_day=d.first_day[active],
        last_day=d.last_day[active],
        as_of_day=as_of_day,
        revenue=facts.revenue[active],
        first_day_revenue=facts.first_day_revenue[active],
        interval_days=interval[active],
        sum_log=d.sum_log[active],
        sumsq_log=d.sumsq_log[active],
    )
    res = clv.predict(inputs, horizon, choice)

    def spread(values: np.ndarray) -> np.ndarray:
        out = np.full(len(active), np.nan)
        out[active] = values
        return out

    return clv.ModelResult(
        spread(res.p_alive),
        spread(res.p_churn),
        spread(res.expected_orders),
        spread(res.expected_spend),
        res.info,
        spread(res.p_churn_bgnbd),
        expected_revenue=spread(res.expected_revenue),
        expected_revenue_bgnbd=spread(res.expected_revenue_bgnbd),
        p_churn_raw=spread(res.p_churn_raw),
    )


def score_customers(
    lines: pd.DataFrame,
    as_of: date | datetime | str,
    settings: AnalysisSettings | None = None,
    excluded: Excluded | None = None,
) -> pd.DataFrame:
    """One row per customer in ``lines`` (up to ``as_of``) with flags, model and reasons.

    ``lines`` has one row per order line: ``customer_id``, ``order_id``, ``ordered_at``
    (tz-aware or naive = UTC), ``net_amount``, ``product_group``, ``company`` and
    optionally ``state``, ``gross_amount``, ``customer_group``. ``excluded`` maps customer
    ids to a reason the app knows (e.g. ``"no_interest"``).

    Columns: ``customer_id``; ``orders`` (valid orders), ``order_days`` (distinct order
    days), ``first_order``, ``last_order`` (days, naive UTC), ``days_since_last_order``;
    ``typical_interval_days``, ``rhythm_weight`` (weight of the own rhythm),
    ``expected_next_order``; ``seasonal``, ``season_start_month`` (1–12),
    ``season_months``, ``in_season``; ``p_alive``, ``p_churn`` (calibrated),
    ``p_churn_uncalibrated``, ``p_churn_bgnbd`` (plain BG/NBD, for comparison),
    ``expected_orders``, ``expected_spend``, ``expected_revenue`` (the forecast),
    ``expected_revenue_bgnbd`` (BG/NBD × Gamma-Gamma's), ``revenue_at_risk`` (horizon
    ``settings.horizon_days``, see :mod:`.clv`);
    ``reference_revenue``,
    ``current_revenue``, ``reference_orders``, ``current_orders``, ``decline_pct``;
    ``flag_decline``, ``flag_overdue``, ``lost``; ``excluded_reason`` (None = not
    excluded); ``reason_key``, ``reason_params``, ``reason`` (flagged rows only, see
    :mod:`.reasons`); ``company`` (of the last valid order), ``customer_group``,
    ``last_product_group`` (largest amount in the last valid order).

    ``attrs['model']`` describes the fitted models: ``model`` names the one behind
    ``p_churn`` (``renewal``, ``mbgnbd``, ``bgnbd`` or the ``rhythm`` fallback), then
    ``revenue_model`` the revenue forecast, ``calibrated`` whether ``p_churn`` was
    calibrated, ``seasonal_churn`` / ``seasonal_revenue`` whether the seasonal
    customers' p_churn / forecast came from their season, then each model's
    parameters, ``selection``
    (log-likelihoods and AIC) and ``time_split`` (:mod:`.selection`: the split's AUC and
    capture per model, the calibration errors and the calibrator); and
    ``attrs['windows']`` the decline windows.
    """
    settings = settings or AnalysisSettings()
    return score_prepared(prepare(lines, as_of, settings.amount_basis), settings, excluded)

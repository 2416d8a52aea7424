"""A3 churn probability and revenue at risk from BG/NBD + Gamma-Gamma, with fallbacks.

Inputs per customer are counted in *order days* (several orders on one day are one
purchase, as in the papers' CDNOW data) and the model's time unit is the week:
``x`` = order days − 1, ``t_x`` = weeks from the first to the last order day,
``T`` = weeks from the first order day to ``as_of``. Both models are fitted on the
business's own history at every run, each on at most 200,000 sampled customers.

Per customer, for a horizon of ``h`` weeks:

* ``p_churn`` = P(no order in (T, T+h]) = 1 − P(alive) · (1 − ((α+T)/(α+T+h))^(r+x)),
  see :func:`bgnbd.p_no_purchase`.
* ``expected_orders`` = E[orders in the horizon | still active] (BG/NBD eq. 9 with the
  posterior of an active customer).
* ``expected_spend`` = Gamma-Gamma E[spend per order day | the customer's repeat order
  days]; as in the papers the first order day is left out (it is often different), so a
  one-time buyer gets the population mean.
* ``expected_revenue`` = expected_orders × expected_spend: what the customer brings in
  the horizon *if still active*.
* ``revenue_at_risk`` = p_churn × expected_revenue: the revenue of an active customer,
  weighted by the probability that it will not come. It ranks customers by what is at
  stake and how likely it is lost.

A property of BG/NBD to keep in mind: a customer without repeat orders is never seen to
drop out (dropout happens only after a repeat purchase), so P(alive) = 1 and her
p_churn comes from her low purchase rate alone.

Fallbacks (``model`` in the result says which applied):

* ``rhythm`` – fewer than ``MIN_CUSTOMERS`` customers, fewer than ``MIN_REPEAT``
  repeat buyers, or a failed fit: orders are taken as Poisson with the customer's
  typical interval (A2) as mean gap, so p_churn = exp(−h / interval) and
  expected_orders = h / interval. Without any interval (nobody ever ordered twice and no
  admin default) these stay empty (NaN).
* Spend without enough repeat buyers (``MIN_REPEAT``) or with q ≤ 1 (no finite
  population mean): the customer's own average order-day value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import bgnbd, gamma_gamma

MIN_CUSTOMERS = 30
MIN_REPEAT = 10
MAX_FIT_CUSTOMERS = 200_000


@dataclass
class ModelInputs:
    """Per customer (only customers with at least one valid order day)."""

    n_days: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    as_of_day: int
    revenue: np.ndarray  # all valid order days
    first_day_revenue: np.ndarray
    interval_days: np.ndarray  # A2 typical interval, fallback rate


@dataclass
class ModelResult:
    p_alive: np.ndarray
    p_churn: np.ndarray
    expected_orders: np.ndarray
    expected_spend: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def expected_revenue(self) -> np.ndarray:
        return self.expected_orders * self.expected_spend

    @property
    def revenue_at_risk(self) -> np.ndarray:
        return self.p_churn * self.expected_revenue


def _summary(inp: ModelInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = inp.n_days.astype(np.float64) - 1
    t_x = (inp.last_day - inp.first_day) / 7.0
    T = (inp.as_of_day - inp.first_day) / 7.0
    return x, t_x, T


def _spend(x: np.ndarray, inp: ModelInputs, info: dict[str, Any]) -> np.ndarray:
    own_mean = inp.revenue / np.maximum(inp.n_days, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        repeat_mean = np.where(x > 0, (inp.revenue - inp.first_day_revenue) / x, 0.0)
    usable = int(np.sum((x > 0) & (repeat_mean > 0)))
    if usable >= MIN_REPEAT:
        try:
            gg = gamma_gamma.fit(x, repeat_mean, max_customers=MAX_FIT_CUSTOMERS)
        except (ValueError, FloatingPointError):
            gg = None
        if gg is not None and gg.params.q > 1:
            info["gamma_gamma"] = {**gg.params.to_dict(), "customers": gg.customers}
            return np.maximum(gamma_gamma.expected_spend(gg.params, x, repeat_mean), 0.0)
    info["gamma_gamma"] = None
    return np.maximum(own_mean, 0.0)


def predict(inp: ModelInputs, horizon_days: int) -> ModelResult:
    """Fit both models on ``inp`` and predict over ``horizon_days``."""
    x, t_x, T = _summary(inp)
    h = horizon_days / 7.0
    info: dict[str, Any] = {"time_unit": "week", "horizon_weeks": h}
    spend = _spend(x, inp, info)
    fit = None
    if len(x) >= MIN_CUSTOMERS and int(np.sum(x > 0)) >= MIN_REPEAT:
        try:
            fit = bgnbd.fit(x, t_x, T, max_customers=MAX_FIT_CUSTOMERS)
        except FloatingPointError:
            fit = None
    if fit is not None:
        params = fit.params
        p_alive = bgnbd.p_alive(params, x, t_x, T)
        p_none = bgnbd.p_no_purchase_if_alive(params, x, T, h)
        orders = bgnbd.expected_purchases_if_alive(params, x, T, h)
        if np.all(np.isfinite(orders)):
            info.update(
                model="bgnbd",
                bgnbd={**params.to_dict(), "log_likelihood": fit.log_likelihood},
                fitted_customers=fit.customers,
                converged=fit.converged,
            )
            return ModelResult(p_alive, 1.0 - p_alive * (1.0 - p_none), orders, spend, info)
    info["model"] = "rhythm"
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = horizon_days / inp.interval_days
    return ModelResult(np.full(len(x), np.nan), np.exp(-rate), rate, spend, info)

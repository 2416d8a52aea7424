"""A3 churn probability and revenue at risk: three customer-base models, the best fit wins.

Inputs per customer are counted in *order days* (several orders on one day are one
purchase, as in the papers' CDNOW data): ``x`` = order days − 1, ``t_x`` = weeks from
the first to the last order day, ``T`` = weeks from the first order day to ``as_of``.
Every model is fitted on the business's own history up to ``as_of`` at every run (no
outcome labels, so nothing after ``as_of`` can leak in).

Models, all maximum likelihood (:mod:`.mle`):

* :mod:`.bgnbd` – BG/NBD (Fader, Hardie & Lee 2005), on ≤ 200,000 sampled customers;
* :mod:`.mbgnbd` – MBG/NBD (Batislam et al. 2007): BG/NBD plus a possible dropout
  right after the first order, so a long-silent one-time buyer is no longer alive for
  sure; on ≤ ``MAX_SELECT_CUSTOMERS`` sampled customers;
* :mod:`.renewal` – the renewal model: each customer's own interval distribution
  (log-normal, level *and regularity* shrunk towards the population) with MBG/NBD's
  dropout and a share of never-returning one-time buyers; a regular 30-day buyer silent
  for 120 days is likely gone, an irregular one much less so. Same sample.

**Choice.** The time-split backtest of :mod:`.selection` (fit as of ``as_of − h``, score
the following horizon) picks the model behind ``p_churn`` by ROC AUC and the revenue
forecast by how much future revenue its top customers hold, and calibrates p_churn
(:mod:`.calibrate`). Where the split cannot be made, or does not clearly prefer another
model, ``p_churn`` comes from the model with the lowest AIC on one common sample of
≤ ``MAX_SELECT_CUSTOMERS`` customers. The three likelihoods are densities of the same
observed order days (BG/NBD's converted from weeks to days, the renewal model's from
log-days to days), so they are comparable. Rhythmic businesses get the renewal model,
businesses whose customers buy at random the (M)BG/NBD. The backtests behind this choice
(demo, CDNOW, synthetic data) and the calibration are in ``docs/analysis-models.md``.

Per customer, for a horizon of ``h`` days:

* ``p_churn`` = P(no order in (as_of, as_of + h]) under the chosen model (see
  :func:`renewal.alive_and_no_order`, :func:`mbgnbd.p_no_purchase`,
  :func:`bgnbd.p_no_purchase`); ``info['calibrated']`` says whether the time split's
  calibrator fits it – :func:`.score.score_prepared` applies it to the final p_churn,
  after the seasonal customers' outlook; ``p_churn_bgnbd`` is plain BG/NBD's, for
  comparison.
* ``expected_orders`` = E[orders in the horizon | still active]: MBG/NBD's when it was
  chosen, otherwise BG/NBD's (eq. 9 with the posterior of an active customer) – the
  renewal model decides *whether* a customer comes back, the count models how often.
* ``expected_spend`` = Gamma-Gamma E[spend per order day | the customer's repeat order
  days]; as in the papers the first order day is left out (it is often different), so a
  one-time buyer gets the population mean.
* ``expected_revenue`` = the forecast of the customer's revenue in the horizon:
  P(active) × E[orders | active] × expected_spend under one model, or ``blend``, the mean
  of the models' forecasts. The default is BG/NBD's (the textbook BG/NBD × Gamma-Gamma,
  also ``expected_revenue_bgnbd``, for comparison); :mod:`.selection` takes another only
  when it ranks better on both time splits.
* ``revenue_at_risk`` = p_churn × expected_orders × expected_spend: the revenue of an
  active customer, weighted by the probability that it will not come. It ranks customers
  by what is at stake and how likely it is lost.

Fallbacks (``model`` in the result says which applied):

* ``rhythm`` – fewer than ``MIN_CUSTOMERS`` customers, fewer than ``MIN_REPEAT``
  repeat buyers, or a failed BG/NBD fit: orders are taken as Poisson with the customer's
  typical interval (A2) as mean gap, so p_churn = exp(−h / interval) and
  expected_orders = h / interval. Without any interval (nobody ever ordered twice and no
  admin default) these stay empty (NaN).
* No renewal model with fewer than ``MIN_REPEAT`` customers with two intervals, or when
  its fit fails; no MBG/NBD when its fit fails: the choice is among the others.
* Spend without enough repeat buyers (``MIN_REPEAT``) or with q ≤ 1 (no finite
  population mean): the customer's own average order-day value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import bgnbd, gamma_gamma, mbgnbd, renewal
from .prepare import id_codes

MIN_CUSTOMERS = 30
MIN_REPEAT = 10
MAX_FIT_CUSTOMERS = 200_000  # BG/NBD and Gamma-Gamma
MAX_SELECT_CUSTOMERS = 20_000  # MBG/NBD, the renewal model and the model comparison
WEEK = 7.0
# free parameters, for the AIC
N_PARAMS = {"bgnbd": 4, "mbgnbd": 4, "renewal": 7}


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
    sum_log: np.ndarray | None = None  # sum of log intervals between order days
    sumsq_log: np.ndarray | None = None  # and of their squares (renewal model)


@dataclass
class ModelResult:
    p_alive: np.ndarray
    p_churn: np.ndarray
    expected_orders: np.ndarray
    expected_spend: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    p_churn_bgnbd: np.ndarray | None = None  # plain BG/NBD, for comparison
    expected_revenue: np.ndarray | None = None  # the forecast, see the module docstring
    expected_revenue_bgnbd: np.ndarray | None = None  # BG/NBD × Gamma-Gamma's
    p_churn_raw: np.ndarray | None = None  # before calibration (score.py)

    @property
    def revenue_if_active(self) -> np.ndarray:
        return self.expected_orders * self.expected_spend

    @property
    def revenue_at_risk(self) -> np.ndarray:
        return self.p_churn * self.revenue_if_active


def _summary(inp: ModelInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = inp.n_days.astype(np.float64) - 1
    t_x = (inp.last_day - inp.first_day) / WEEK
    T = (inp.as_of_day - inp.first_day) / WEEK
    return x, t_x, T


def _by_distinct_history(inp: ModelInputs) -> tuple[np.ndarray, np.ndarray] | None:
    """One customer per distinct (order days, first order day) and each customer's one.

    E[orders | active] depends on ``x`` and ``T`` only, i.e. on these two day counts, and
    a million customers have some ten thousand distinct pairs: the hypergeometric
    function is evaluated once per pair (elementwise, so the values are the same).
    None for non-integer days.
    """
    n_days, first_day = inp.n_days, inp.first_day
    if not len(n_days) or n_days.dtype.kind not in "iu" or first_day.dtype.kind not in "iu":
        return None
    width = int(n_days.max()) + 1
    key = (first_day.astype(np.int64) - int(first_day.min())) * width + n_days
    codes, distinct = id_codes(key)
    one = np.empty(len(distinct), dtype=np.int64)
    one[codes] = np.arange(len(codes))
    return one, codes


def _orders_if_alive(model: Any, params: Any, x, T, h: float, distinct) -> np.ndarray:
    """``model.expected_purchases_if_alive`` once per distinct history (see above)."""
    if distinct is None:
        return model.expected_purchases_if_alive(params, x, T, h)
    one, codes = distinct
    return model.expected_purchases_if_alive(params, x[one], T[one], h)[codes]


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


def _intervals(inp: ModelInputs) -> renewal.Intervals | None:
    if inp.sum_log is None or inp.sumsq_log is None:
        return None
    since = (inp.as_of_day - inp.last_day).astype(np.float64)
    return renewal.Intervals.of(inp.n_days, inp.sum_log, inp.sumsq_log, since)


def _fit_all(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, d: renewal.Intervals | None
) -> tuple[dict[str, Any], dict[str, float], int]:
    """Fit every model that can; their log-likelihoods of one common sample's order days."""
    n = len(x)
    sample = np.arange(n)
    if n > MAX_SELECT_CUSTOMERS:
        sample = np.sort(np.random.default_rng(0).choice(n, MAX_SELECT_CUSTOMERS, replace=False))
    xs, txs, Ts = x[sample], t_x[sample], T[sample]
    days_per_week = xs.sum() * np.log(WEEK)  # a density in weeks^-x → in days^-x
    fits: dict[str, Any] = {}
    ll: dict[str, float] = {}
    try:
        fits["bgnbd"] = bgnbd.fit(x, t_x, T, max_customers=MAX_FIT_CUSTOMERS)
        ll["bgnbd"] = float(bgnbd.log_likelihood(fits["bgnbd"].params, xs, txs, Ts).sum())
    except FloatingPointError:
        pass
    try:
        fits["mbgnbd"] = mbgnbd.fit(xs, txs, Ts, max_customers=MAX_SELECT_CUSTOMERS)
        ll["mbgnbd"] = float(mbgnbd.log_likelihood(fits["mbgnbd"].params, xs, txs, Ts).sum())
    except FloatingPointError:
        pass
    for name in ("bgnbd", "mbgnbd"):
        if name in ll:
            ll[name] -= days_per_week
    if d is not None and int(np.sum(d.m >= 2)) >= MIN_REPEAT:
        try:
            ds = d.take(sample)
            fits["renewal"] = renewal.fit(ds, max_customers=MAX_SELECT_CUSTOMERS)
            ll["renewal"] = float(renewal.log_likelihood(fits["renewal"].params, ds).sum())
        except (ValueError, FloatingPointError):
            pass
    ll = {k: v for k, v in ll.items() if np.isfinite(v)}
    return fits, ll, len(sample)


@dataclass
class Candidate:
    """One model's view of every customer over the horizon."""

    p_alive: np.ndarray
    p_churn: np.ndarray
    orders: np.ndarray  # E[orders in the horizon | active]


@dataclass
class Candidates:
    """Every fitted model's predictions, the spend, and the fits' description."""

    models: dict[str, Candidate]
    spend: np.ndarray
    info: dict[str, Any]
    aic_choice: str | None  # None: no model could be fitted (the rhythm fallback)

    @property
    def revenue_names(self) -> list[str]:
        """The revenue forecasts on offer: each model's, and ``blend`` (their mean)."""
        return [*self.models, "blend"] if len(self.models) > 1 else list(self.models)

    def revenue(self, name: str) -> np.ndarray:
        """Expected revenue in the horizon under model ``name``: P(active) × E[orders |
        active] × spend (for ``bgnbd`` the textbook BG/NBD × Gamma-Gamma forecast);
        ``blend`` is the mean of the models' forecasts."""
        if name == "blend":
            return np.mean([self.revenue(m) for m in self.models], axis=0)
        c = self.models[name]
        return c.p_alive * c.orders * self.spend


def candidates(inp: ModelInputs, horizon_days: int) -> Candidates:
    """Fit every model that can be fitted on ``inp`` and predict over ``horizon_days``."""
    x, t_x, T = _summary(inp)
    h = horizon_days / WEEK
    info: dict[str, Any] = {"time_unit": "week", "horizon_weeks": h}
    spend = _spend(x, inp, info)
    intervals = _intervals(inp)
    if not (len(x) >= MIN_CUSTOMERS and int(np.sum(x > 0)) >= MIN_REPEAT):
        return Candidates({}, spend, info, None)
    fits, ll, compared = _fit_all(x, t_x, T, intervals)
    if "bgnbd" not in fits:
        return Candidates({}, spend, info, None)
    bg = fits["bgnbd"]
    info["bgnbd"] = {**bg.params.to_dict(), "log_likelihood": bg.log_likelihood}
    info.update(fitted_customers=bg.customers, converged=bg.converged)
    bg_alive = bgnbd.p_alive(bg.params, x, t_x, T)
    distinct = _by_distinct_history(inp)
    bg_orders = _orders_if_alive(bgnbd, bg.params, x, T, h, distinct)
    bg_churn = 1.0 - bg_alive * (1.0 - bgnbd.p_no_purchase_if_alive(bg.params, x, T, h))
    models = {"bgnbd": Candidate(bg_alive, bg_churn, bg_orders)}
    if "mbgnbd" in fits:
        params = fits["mbgnbd"].params
        info["mbgnbd"] = {**params.to_dict(), "customers": compared}
        alive = mbgnbd.p_alive(params, x, t_x, T)
        churn = 1.0 - alive * (1.0 - mbgnbd.p_no_purchase_if_alive(params, x, T, h))
        models["mbgnbd"] = Candidate(
            alive, churn, _orders_if_alive(mbgnbd, params, x, T, h, distinct)
        )
    if "renewal" in fits:
        info["renewal"] = {
            **fits["renewal"].params.to_dict(),
            "customers": fits["renewal"].customers,
            "converged": fits["renewal"].converged,
        }
        alive, churn = renewal.alive_and_no_order(fits["renewal"].params, intervals, horizon_days)
        # the renewal model decides *whether* a customer comes back, BG/NBD how often
        models["renewal"] = Candidate(alive, churn, bg_orders)
    aic = {k: 2 * N_PARAMS[k] - 2 * v for k, v in ll.items()}
    # log-likelihoods of the sample's order days (as densities per day) and AIC
    info["selection"] = {"customers": compared, "log_likelihood": ll, "aic": aic}
    return Candidates(models, spend, info, min(aic, key=aic.__getitem__) if aic else "bgnbd")


def default_revenue(cands: Candidates) -> str:
    """The textbook BG/NBD × Gamma-Gamma forecast: the others only where the business's
    own time split shows them ahead (:mod:`.selection`, docs/analysis-models.md)."""
    return "bgnbd"


@dataclass(frozen=True)
class Choice:
    """Which model gives ``p_churn`` and which ``expected_revenue``, and how p_churn is
    calibrated – chosen by the time-split backtest (:mod:`.selection`)."""

    churn: str | None  # None: the model with the lowest AIC
    revenue: str
    calibrator: Any = None  # .calibrate.Calibrator or None
    calibrated: str | None = None  # the model whose p_churn the calibrator was learnt on
    seasonal_revenue: bool = False  # seasonal customers' forecast from their season
    seasonal_churn: bool = True  # and their p_churn (the default without a time split)


def predict(inp: ModelInputs, horizon_days: int, choice: Choice | None = None) -> ModelResult:
    """Fit the models on ``inp`` and predict over ``horizon_days``.

    Without a ``choice`` (or when its models could not be fitted) ``p_churn`` comes from
    the model with the lowest AIC and ``expected_revenue`` is BG/NBD × Gamma-Gamma's.
    """
    return predict_from(candidates(inp, horizon_days), inp, horizon_days, choice)


def predict_from(
    cands: Candidates, inp: ModelInputs, horizon_days: int, choice: Choice | None = None
) -> ModelResult:
    """:func:`predict` on already fitted :class:`Candidates`."""
    info = dict(cands.info)
    if cands.aic_choice is not None:
        churn_model, revenue_model = cands.aic_choice, default_revenue(cands)
        if choice is not None and choice.churn in cands.models:
            churn_model = choice.churn
        if choice is not None and choice.revenue in cands.revenue_names:
            revenue_model = choice.revenue
        c = cands.models[churn_model]
        raw = c.p_churn
        # a calibrator only fits the model it was learnt on (the run's AIC may choose
        # another model than the split's did); the caller applies it to the final p_churn
        # (after the seasonal customers' outlook, :func:`.score.score_prepared`)
        calibrated = bool(
            choice is not None and choice.calibrator and choice.calibrated == churn_model
        )
        info.update(model=churn_model, revenue_model=revenue_model, calibrated=calibrated)
        return ModelResult(
            c.p_alive,
            raw,
            c.orders,
            cands.spend,
            info,
            cands.models["bgnbd"].p_churn,
            expected_revenue=cands.revenue(revenue_model),
            expected_revenue_bgnbd=cands.revenue("bgnbd"),
            p_churn_raw=raw,
        )
    info["model"] = "rhythm"
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = horizon_days / inp.interval_days
    nan = np.full(len(rate), np.nan)
    p_churn = np.exp(-rate)
    return ModelResult(
        nan,
        p_churn,
        rate,
        cands.spend,
        info,
        nan,
        expected_revenue=rate * cands.spend,
        expected_revenue_bgnbd=nan,
        p_churn_raw=p_churn,
    )

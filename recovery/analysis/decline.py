"""A1 revenue decline: revenue in the current window vs a reference window.

Windows are half-open day ranges ``(start, end]`` measured in calendar months back from
the ``as_of`` day, which is the last day of the current window. Month ends stay month
ends: when ``as_of`` is the last day of its month every boundary is a month end too
(as_of 2024-04-30, 2 months: current = March–April, previous = January–February,
including 29 February), otherwise the day of month is kept and clipped
(``pd.DateOffset(months=…)``).

* ``previous_period``: the ``window_months`` just before the current window.
* ``same_period_last_year``: the current window shifted back 12 months.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .prepare import VALID, Prepared, day_number


@dataclass(frozen=True)
class Window:
    """Days ``d`` with ``start < d <= end`` (naive midnight timestamps)."""

    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def first_day(self) -> pd.Timestamp:
        return self.start + pd.Timedelta(days=1)

    def contains(self, days: np.ndarray) -> np.ndarray:
        return (days > day_number(self.start)) & (days <= day_number(self.end))


def months_back(as_of: pd.Timestamp, months: int) -> pd.Timestamp:
    """``as_of`` minus ``months`` calendar months; month ends map to month ends."""
    shifted = as_of - pd.DateOffset(months=months)
    if as_of.is_month_end:
        shifted = shifted + pd.offsets.MonthEnd(0)
    return shifted


def windows(as_of: pd.Timestamp, months: int, comparison: str) -> tuple[Window, Window]:
    """The current and the reference window for ``as_of`` (a naive midnight)."""
    current = Window(months_back(as_of, months), as_of)
    if comparison == "previous_period":
        reference = Window(months_back(as_of, 2 * months), current.start)
    elif comparison == "same_period_last_year":
        reference = Window(months_back(as_of, 12 + months), months_back(as_of, 12))
    else:
        raise ValueError(f"unknown comparison {comparison!r}")
    return current, reference


@dataclass
class WindowRevenue:
    revenue: np.ndarray  # float64 per customer
    orders: np.ndarray  # int32 per customer (valid orders)


def window_revenue(prep: Prepared, window: Window) -> WindowRevenue:
    """Valid revenue and number of valid orders per customer inside ``window``."""
    inside = window.contains(prep.o_day) & (prep.o_state == VALID)
    cust = prep.o_cust[inside]
    n = prep.n_customers
    revenue = np.bincount(cust, weights=prep.o_amount[inside], minlength=n)
    orders = np.bincount(cust, minlength=n).astype(np.int32)
    return WindowRevenue(revenue, orders)


def decline_pct(current: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Percentage fall from reference to current (57 = −57 %); NaN without a positive reference."""
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = (reference - current) / reference * 100.0
    return np.where(reference > 0, pct, np.nan)


def decline_flags(
    current: WindowRevenue,
    reference: WindowRevenue,
    *,
    min_decline_pct: float,
    min_reference_revenue: float,
    min_reference_orders: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(decline_pct, flag) – all thresholds are 'at least'; exclusions are applied later."""
    pct = decline_pct(current.revenue, reference.revenue)
    flag = (
        (reference.revenue >= min_reference_revenue)
        & (reference.revenue > 0)
        & (reference.orders >= min_reference_orders)
        & (np.nan_to_num(pct, nan=-np.inf) >= min_decline_pct)
    )
    return pct, flag

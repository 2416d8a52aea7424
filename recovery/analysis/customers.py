"""Per-customer facts shared by the rules: order counts, last order, exclusions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .prepare import OPEN, VALID, VOID, Prepared, last_per_customer, stable_sort
from .rhythm import UnitDays, unit_days
from .season import Judged, judge_seasons
from .settings import AnalysisSettings

NO_EXCLUSION = ""


@dataclass
class CustomerFacts:
    orders: np.ndarray  # int32 valid orders
    days: UnitDays  # valid order days per customer
    revenue: np.ndarray  # valid revenue, all history up to as_of
    first_day_revenue: np.ndarray
    last_order: np.ndarray  # index into the order arrays of the last valid order, -1
    company: np.ndarray  # int32 code, -1
    customer_group: np.ndarray  # int32 code, -1
    last_group: np.ndarray | None  # int32 product-group code of the last valid order, -1
    excluded: np.ndarray  # object array of reasons, "" = not excluded


def _last_group(prep: Prepared, last_order: np.ndarray) -> np.ndarray:
    """Product group with the largest amount in each customer's last valid order.

    Ties go to the group listed first in ``prep.groups``.
    """
    out = np.full(prep.n_customers, -1, dtype=np.int32)
    is_last = np.zeros(len(prep.o_cust), dtype=bool)
    is_last[last_order[last_order >= 0]] = True
    line = np.flatnonzero(is_last[prep.l_order])  # the last orders' lines
    if not len(line):
        return out
    # one sort by (order, group), then sums per run and the maximum per order
    width = len(prep.groups) + 1
    key = prep.l_order[line].astype(np.int64) * width + (prep.l_group[line] + 1)
    by, key = stable_sort(key)
    amount = prep.l_amount[line[by]]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sums, keys = np.add.reduceat(amount, starts), key[starts]
    order, group = keys // width, (keys % width - 1).astype(np.int32)
    seg = np.flatnonzero(np.r_[True, order[1:] != order[:-1]])
    best = np.maximum.reduceat(sums, seg)
    is_best = sums == np.repeat(best, np.diff(np.r_[seg, len(sums)]))
    idx = np.flatnonzero(is_best)
    first = np.r_[True, order[idx][1:] != order[idx][:-1]]
    out[prep.o_cust[order[idx][first]]] = group[idx][first]
    return out


def _label_mask(labels: pd.Index, names: tuple[str, ...]) -> np.ndarray:
    """Boolean per code (plus a last False entry for code -1) of labels in ``names``."""
    hit = np.isin(np.asarray(labels.astype(str)), list(names))
    return np.append(hit, False)


def _exclusions(
    prep: Prepared,
    settings: AnalysisSettings,
    excluded: Mapping[Any, str | None] | None,
    valid_orders: np.ndarray,
    company: np.ndarray,
    customer_group: np.ndarray,
) -> np.ndarray:
    """``excluded_reason`` per customer; the first matching reason wins (see score)."""
    n = prep.n_customers
    has_open = np.bincount(prep.o_cust[prep.o_state == OPEN], minlength=n) > 0
    has_void = np.bincount(prep.o_cust[prep.o_state == VOID], minlength=n) > 0
    reason = np.full(n, NO_EXCLUSION, dtype=object)
    open_rule = settings.exclude_open_orders & has_open

    def mark(mask: np.ndarray, value: str | np.ndarray) -> None:
        todo = mask & (reason == NO_EXCLUSION)
        reason[todo] = value if isinstance(value, str) else value[todo]

    none_valid = valid_orders == 0
    mark(none_valid & open_rule, "open_order")
    mark(none_valid & has_void & ~has_open, "cancelled_only")
    mark(none_valid, "no_orders")
    if excluded:
        pos = prep.customer_ids.get_indexer(list(excluded.keys()))
        given = np.array([str(v) if v else "excluded" for v in excluded.values()], dtype=object)
        listed = np.zeros(n, dtype=bool)
        values = np.full(n, NO_EXCLUSION, dtype=object)
        listed[pos[pos >= 0]] = True
        values[pos[pos >= 0]] = given[pos >= 0]
        mark(listed, values)
    if settings.include_customer_groups:
        inside = _label_mask(prep.customer_groups, settings.include_customer_groups)
        mark(~inside[customer_group], "customer_group")
    if settings.exclude_customer_groups:
        outside = _label_mask(prep.customer_groups, settings.exclude_customer_groups)
        mark(outside[customer_group], "customer_group")
    if settings.include_companies:
        mark(~_label_mask(prep.companies, settings.include_companies)[company], "company")
    if settings.exclude_companies:
        mark(_label_mask(prep.companies, settings.exclude_companies)[company], "company")
    mark(open_rule, "open_order")
    return reason


def customer_facts(
    prep: Prepared,
    settings: AnalysisSettings,
    excluded: Mapping[Any, str | None] | None,
    last_group: bool = True,
) -> CustomerFacts:
    """The facts; ``last_group=False`` leaves out the last order's product group (None)."""
    n = prep.n_customers
    valid = prep.o_state == VALID
    v_cust, v_day, v_amount = prep.o_cust[valid], prep.o_day[valid], prep.o_amount[valid]
    orders = np.bincount(v_cust, minlength=n).astype(np.int32)
    days = unit_days(v_cust, v_day, n)
    revenue = np.bincount(v_cust, weights=v_amount, minlength=n)
    on_first = v_day == days.first_day[v_cust]
    first_rev = np.bincount(v_cust[on_first], weights=v_amount[on_first], minlength=n)
    last_order = last_per_customer(prep.o_cust, valid, n)
    # the customer group is a customer attribute: take the latest one the data has
    last_cg = last_per_customer(prep.o_cust, prep.o_cgroup >= 0, n)
    customer_group = np.where(last_cg >= 0, prep.o_cgroup[np.maximum(last_cg, 0)], -1)
    company = np.where(last_order >= 0, prep.o_company[np.maximum(last_order, 0)], -1)
    company = company.astype(np.int32)
    return CustomerFacts(
        orders=orders,
        days=days,
        revenue=revenue,
        first_day_revenue=first_rev,
        last_order=last_order,
        company=company,
        customer_group=customer_group.astype(np.int32),
        last_group=_last_group(prep, last_order) if last_group else None,
        excluded=_exclusions(prep, settings, excluded, orders, company, customer_group),
    )


def customer_seasons(prep: Prepared, facts: CustomerFacts, settings: AnalysisSettings) -> Judged:
    """The customers' seasons (:mod:`.season`) by their valid order days."""
    valid = prep.o_state == VALID
    return judge_seasons(
        prep.o_cust[valid], prep.o_day[valid], facts.days, prep.as_of_day, settings
    )


def categorical(codes: np.ndarray, labels: pd.Index) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=labels)

"""Overdue by rhythm per customer × product group (A2, ReConnect R1–R6).

A pair's orders are the customer's valid orders with at least one line of that product
group; its rhythm is shrunk towards the group's typical interval exactly as for
customers (:mod:`.rhythm`, with pairs as units). A pair is seasonal by its own order
days (:mod:`.season`); the other groups of a seasonal customer are not overdue out of
her season and expected at its start at the earliest. Only an order containing the
same group clears the pair's flag. Lines without a product group are left out.
Customer exclusions (:mod:`.score`) apply to all of a customer's pairs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from .customers import NO_EXCLUSION, CustomerFacts, categorical, customer_facts, customer_seasons
from .prepare import Prepared, from_day_numbers, prepare, stable_sort
from .reasons import reason_columns
from .rhythm import estimate_priors, overdue_flags, typical_interval, unit_days
from .score import score_prepared
from .season import Judged, judge_seasons
from .settings import AnalysisSettings


def _pairs(prep: Prepared) -> dict[str, np.ndarray]:
    """Per (customer, group) pair: key, orders, revenue, and its order days in order."""
    n_groups, n_orders = max(len(prep.groups), 1), max(len(prep.o_cust), 1)
    keep = prep.l_group >= 0
    line = None if keep.all() else np.flatnonzero(keep)  # None: every line
    rank = prep.l_order if line is None else prep.l_order[line]
    group = prep.l_group if line is None else prep.l_group[line]
    pair_key = prep.o_cust[rank].astype(np.int64) * n_groups + group
    day = prep.o_day[rank]
    first_day = int(day.min(initial=0))
    span = int(day.max(initial=0)) - first_day + 1
    pair_key *= span
    pair_key += day - first_day
    del rank, group, day
    by, key = stable_sort(pair_key)  # by (pair, day); the keys come sorted, no gather
    del pair_key
    pair_key, day = np.divmod(key, span)
    day = (day + first_day).astype(np.int32)
    if line is not None:
        by = line[by]
    rank = prep.l_order[by]
    new_pair = np.ones(len(pair_key), dtype=bool)
    new_pair[1:] = pair_key[1:] != pair_key[:-1]
    pair = np.cumsum(new_pair) - 1
    n_pairs = int(new_pair.sum())
    last = np.r_[new_pair[1:], True]  # the pair's last line: an order of its last day
    return {
        "key": pair_key[new_pair],
        "orders": _distinct_orders(pair, rank, new_pair, n_pairs, n_orders),
        "revenue": np.bincount(pair, weights=prep.l_amount[by], minlength=n_pairs),
        "unit": pair,
        "day": day,
        "last_order": rank[last],
    }


def _distinct_orders(
    pair: np.ndarray, rank: np.ndarray, new_pair: np.ndarray, n_pairs: int, n_orders: int
) -> np.ndarray:
    """Distinct orders per pair, lines sorted by (pair, day, line).

    The orders (``rank``) are sorted by (customer, day), so within a pair they only fall
    back where lines of two orders of one day interleave; a new order starts a run
    everywhere else. Only pairs with such a fall are counted by a sort.
    """
    new_order = new_pair.copy()
    new_order[1:] |= rank[1:] != rank[:-1]
    falls = np.flatnonzero((rank[1:] < rank[:-1]) & ~new_pair[1:]) + 1
    if not len(falls):
        return np.bincount(pair[new_order], minlength=n_pairs).astype(np.int32)
    mixed = np.zeros(n_pairs, dtype=bool)
    mixed[pair[falls]] = True
    in_mixed = mixed[pair]
    counts = np.bincount(pair[new_order & ~in_mixed], minlength=n_pairs)
    # the mixed pairs' distinct orders: a value sort (np.unique hashes, slow)
    pair_order = np.sort(pair[in_mixed] * n_orders + rank[in_mixed])
    pair_order = pair_order[np.r_[True, pair_order[1:] != pair_order[:-1]]]
    counts += np.bincount(pair_order // n_orders, minlength=n_pairs)
    return counts.astype(np.int32)


def _score_groups(
    prep: Prepared,
    settings: AnalysisSettings,
    excluded: Mapping[Any, str | None] | None,
    facts: CustomerFacts | None = None,
    customer: Judged | None = None,
) -> pd.DataFrame:
    if facts is None:
        facts = customer_facts(prep, settings, excluded, last_group=False)  # not needed here
    pairs = _pairs(prep)
    n_groups = max(len(prep.groups), 1)
    cust = (pairs["key"] // n_groups).astype(np.int64)
    group = (pairs["key"] % n_groups).astype(np.int32)
    n = len(cust)
    days = unit_days(pairs["unit"], pairs["day"], n)
    priors = estimate_priors(days, group, prep.groups, settings.group_default_intervals)
    interval, weight = typical_interval(days, group, priors)
    since = prep.as_of_day - days.last_day
    flag, lost = overdue_flags(
        since,
        interval,
        days.n_days,
        tolerance=settings.overdue_tolerance,
        min_days=settings.min_orders_for_rhythm,
        max_overdue_days=settings.max_overdue_days,
    )
    season = judge_seasons(pairs["unit"], pairs["day"], days, prep.as_of_day, settings)
    seasonal = season.seasonal
    flag = np.where(seasonal, season.flag, flag)
    # a seasonal customer's other groups wait for her season too
    if customer is None:
        customer = customer_seasons(prep, facts, settings)
    waits = ~seasonal & customer.seasonal[cust] & ~customer.state.in_season[cust]
    flag &= ~waits
    reason_code = facts.excluded[cust]
    flag &= reason_code == NO_EXCLUSION
    group_label = np.asarray(prep.groups.astype(str), dtype=object)
    params = {
        "product_group": group_label[group],
        "typical_interval_days": np.round(interval, 1),
        "days_since_last_order": since,
        "order_days": days.n_days,
    }
    season_params = {
        **season.params,
        "product_group": params["product_group"],
        "days_since_last_order": since,
    }
    key, reason_params, reason = reason_columns(
        n,
        [
            ("group_overdue", flag & ~seasonal, params),
            ("group_season", flag & seasonal, season_params),
        ],
        settings.locale,
        settings.currency,
    )
    next_order = np.where(seasonal, season.state.expected_next, days.last_day + np.round(interval))
    next_order = np.where(
        waits, np.fmax(next_order, customer.state.expected_next[cust]), next_order
    )
    return pd.DataFrame(
        {
            "customer_id": prep.customer_ids[cust],
            "product_group": categorical(group, prep.groups),
            "orders": pairs["orders"],
            "order_days": days.n_days,
            "revenue": pairs["revenue"],
            "first_order": from_day_numbers(days.first_day),
            "last_order": from_day_numbers(days.last_day),
            "days_since_last_order": since.astype(np.int32),
            "typical_interval_days": interval,
            "rhythm_weight": weight,
            "expected_next_order": from_day_numbers(next_order),
            "last_order_id": prep.o_id[pairs["last_order"]],
            **season.columns(),
            "flag_overdue": flag,
            "lost": lost,
            "excluded_reason": np.where(reason_code == NO_EXCLUSION, None, reason_code),
            "reason_key": key,
            "reason_params": reason_params,
            "reason": reason,
            "company": categorical(facts.company[cust], prep.companies),
        },
        copy=False,
    )


def score_customer_groups(
    lines: pd.DataFrame,
    as_of: date | datetime | str,
    settings: AnalysisSettings | None = None,
    excluded: Mapping[Any, str | None] | None = None,
) -> pd.DataFrame:
    """One row per customer × product group bought (valid orders up to ``as_of``).

    Columns: ``customer_id``, ``product_group``, ``orders`` (valid orders with that
    group), ``order_days``, ``revenue`` (valid lines of the group, all history),
    ``first_order``, ``last_order``, ``days_since_last_order``, ``typical_interval_days``,
    ``rhythm_weight``, ``expected_next_order``, ``last_order_id`` (an order of the pair's
    last order day), ``seasonal``, ``season_start_month``, ``season_months``,
    ``in_season``, ``flag_overdue``, ``lost``,
    ``excluded_reason``, ``reason_key`` (``group_overdue`` or ``group_season``),
    ``reason_params``, ``reason``,
    ``company`` (of the customer's last valid order).
    """
    settings = settings or AnalysisSettings()
    return _score_groups(prepare(lines, as_of, settings.amount_basis), settings, excluded)


def score_customers_and_groups(
    lines: pd.DataFrame,
    as_of: date | datetime | str,
    settings: AnalysisSettings | None = None,
    excluded: Mapping[Any, str | None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(score_customers(...), score_customer_groups(...))`` with the same arguments,
    equal to the two calls, but the lines are prepared and the customers' facts and
    seasons computed once (the nightly run needs both)."""
    settings = settings or AnalysisSettings()
    prep = prepare(lines, as_of, settings.amount_basis)
    facts = customer_facts(prep, settings, excluded)
    season = customer_seasons(prep, facts, settings)
    customers = score_prepared(prep, settings, excluded, facts, season)
    return customers, _score_groups(prep, settings, excluded, facts, season)

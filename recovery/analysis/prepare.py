"""Turn the order-line frame into compact integer arrays (one pass, no Python loops).

Conventions used by every rule:

* A *day* is a calendar day of the naive times given, counted as days since 1970-01-01
  (int32). The app hands in the business's wall-clock times (``cases.order_lines``), so
  days are the business's days; aware times are converted to UTC first.
* Only lines ordered on or before the ``as_of`` day count (the whole ``as_of`` day is
  included); later lines are dropped, so customers seen only later do not appear.
* A line is *valid* when its ``state`` is ``completed`` or missing. ``cancelled`` and
  ``returned`` lines never count; ``open`` lines count neither as revenue nor as orders
  but mark the customer as having an open order.
* An order is identified by ``(customer_id, order_id)``; it is *valid* when it has at
  least one valid line, and its revenue is the sum of its valid lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

VALID, OPEN, VOID = 0, 1, 2
_STATE_CLASS = {"completed": VALID, "open": OPEN, "cancelled": VOID, "returned": VOID}
REQUIRED_COLUMNS = ("customer_id", "order_id", "ordered_at", "net_amount")


@dataclass
class Prepared:
    """Lines and orders of one analysis run as integer-coded numpy arrays."""

    as_of: pd.Timestamp  # midnight (naive) of the as_of day
    as_of_day: int
    customer_ids: pd.Index  # original ids; position = customer code
    groups: pd.Index  # product group labels; position = group code (-1 = none)
    companies: pd.Index
    customer_groups: pd.Index
    # order level, sorted by (customer, day, order code)
    o_cust: np.ndarray  # int32
    o_day: np.ndarray  # int32
    o_state: np.ndarray  # int8: VALID / OPEN / VOID
    o_amount: np.ndarray  # float64, valid lines only, per amount basis
    o_company: np.ndarray  # int32, -1 = none
    o_cgroup: np.ndarray  # int32, customer group code at that order, -1 = none
    # line level (valid lines only)
    l_order: np.ndarray  # int32 index into the order arrays
    l_group: np.ndarray  # int32, -1 = none
    l_amount: np.ndarray  # float64
    o_id: np.ndarray | None = None  # the orders' ids, in the order arrays' order

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)


def to_day(value: date | datetime | str | pd.Timestamp) -> pd.Timestamp:
    """The calendar day of ``value`` (naive as given, aware in UTC) as a naive midnight."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize()


def day_number(ts: pd.Timestamp) -> int:
    return int((ts - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1))


def from_day_numbers(days: np.ndarray) -> np.ndarray:
    """Day numbers (NaN/negative sentinel allowed via masked float) → datetime64[ns]."""
    out = np.asarray(days, dtype="float64")
    mask = np.isnan(out)
    result = np.where(mask, 0, out).astype("int64").astype("datetime64[D]").astype("M8[ns]")
    result[mask] = np.datetime64("NaT")
    return result


def utc_days(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Day numbers (int64) and a NaT mask of an ``ordered_at`` column."""
    if not pd.api.types.is_datetime64_any_dtype(series):
        series = pd.to_datetime(series, utc=True)
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    values = series.to_numpy()
    missing = np.isnat(values)
    return values.astype("datetime64[D]").view(np.int64), missing


def codes_of(series: pd.Series | None, n: int) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (-1 = missing) and labels of a label column; categoricals are free.

    A categorical's codes come as they are (int8 for up to 127 labels, read-only use).
    """
    if series is None:
        return np.full(n, -1, dtype=np.int8), pd.Index([], dtype=object)
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(), series.cat.categories
    codes, uniques = pd.factorize(series, sort=False)
    return codes.astype(np.int32, copy=False), pd.Index(uniques)


def state_classes(series: pd.Series | None, n: int) -> np.ndarray:
    codes, labels = codes_of(series, n)
    table = np.empty(len(labels) + 1, dtype=np.int8)
    table[-1] = VALID  # code -1 (missing state) means completed
    for i, label in enumerate(labels):
        key = str(label).strip().lower()
        if key not in _STATE_CLASS:
            raise ValueError(
                f"unknown order state {label!r} (expected one of {list(_STATE_CLASS)})"
            )
        table[i] = _STATE_CLASS[key]
    return table[codes]


def _amounts(lines: pd.DataFrame, basis: str) -> np.ndarray:
    net = lines["net_amount"].to_numpy(dtype="float64", na_value=np.nan)
    if basis == "gross" and "gross_amount" in lines:
        gross = lines["gross_amount"].to_numpy(dtype="float64", na_value=np.nan)
        net = np.where(np.isnan(gross), net, gross)
    if np.isfinite(net).all():  # nothing to replace: no copy (callers only read it)
        return net
    return np.nan_to_num(net, nan=0.0)


def id_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense int32 codes and the distinct ids; integer ids in a compact range skip hashing."""
    if values.dtype.kind in "iu" and len(values):
        lo, hi = int(values.min()), int(values.max())
        if hi - lo <= max(4 * len(values), 1 << 20):
            offset = values - lo
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[offset] = True
            code_of = (np.cumsum(present) - 1).astype(np.int32)
            return code_of[offset], (np.flatnonzero(present) + lo).astype(values.dtype)
    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.int32, copy=False), np.asarray(uniques)


def stable_argsort(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` for non-negative integer keys, usually faster."""
    return stable_sort(key)[0]


def stable_sort(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.argsort(key, kind="stable")`` and ``key`` in that order (int64), for keys >= 0.

    When the key shifted left by the bits of the row number fits into 62 bits, the row
    number is packed into the low bits and a plain value sort is used (several times
    faster than an indirect sort); the sorted keys then come from the high bits, not
    from a gather.
    """
    n = len(key)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    bits = max((n - 1).bit_length(), 1)
    if int(key.max()) >= 1 << (62 - bits):
        order = np.argsort(key, kind="stable")
        return order, key[order].astype(np.int64, copy=False)
    packed = key.astype(np.int64)  # a copy: shifted and sorted in place
    packed <<= bits
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    order = packed & ((1 << bits) - 1)
    packed >>= bits
    return order, packed


def _orders(
    cust: np.ndarray, order_ids: np.ndarray, day: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Order code per line, and per order a representative line, its customer and day.

    Order ids are expected to be unique; if one is shared by several customers the order
    is identified by (customer, order id). An order's day is the earliest of its lines.
    """
    order, _ = id_codes(order_ids)
    rep = np.empty(int(order.max(initial=-1)) + 1, dtype=np.int64)
    rep[order] = np.arange(len(order))  # any line of the order will do
    if not np.array_equal(cust[rep][order], cust):
        order, _ = id_codes(cust.astype(np.int64) * (int(order.max()) + 1) + order)
        rep = np.empty(int(order.max(initial=-1)) + 1, dtype=np.int64)
        rep[order] = np.arange(len(order))
    o_day = day[rep]
    if not np.array_equal(o_day[order], day):  # an order's lines on several days
        np.minimum.at(o_day, order, day)
    return order, rep, cust[rep], o_day


def prepare(lines: pd.DataFrame, as_of: date | datetime | str, basis: str = "net") -> Prepared:
    """Validate, cut at ``as_of`` and aggregate ``lines`` to orders."""
    missing_cols = [c for c in REQUIRED_COLUMNS if c not in lines]
    if missing_cols:
        raise ValueError(f"lines is missing the column(s) {', '.join(missing_cols)}")
    as_of_ts = to_day(as_of)
    as_of_day = day_number(as_of_ts)
    n = len(lines)
    day, nat = utc_days(lines["ordered_at"])
    keep = (day <= as_of_day) & ~nat
    keep_all = bool(keep.all())

    def cut(arr: np.ndarray) -> np.ndarray:
        return arr if keep_all else arr[keep]

    cust, customer_ids = id_codes(cut(lines["customer_id"].to_numpy()))
    day = cut(day).astype(np.int32)
    order_ids = cut(lines["order_id"].to_numpy())
    order, rep, o_cust, o_day = _orders(cust, order_ids, day)

    state = cut(state_classes(lines.get("state"), n))
    amount = cut(_amounts(lines, basis))
    group, groups = codes_of(lines.get("product_group"), n)
    company, companies = codes_of(lines.get("company"), n)
    cgroup, customer_groups = codes_of(lines.get("customer_group"), n)
    group, company, cgroup = cut(group), cut(company), cut(cgroup)  # int8 for categoricals

    n_orders = len(rep)
    valid_line = state == VALID
    valid_order = order[valid_line]
    valid_amount = amount[valid_line]
    o_state = np.full(n_orders, VOID, dtype=np.int8)
    o_state[order[state == OPEN]] = OPEN
    o_state[valid_order] = VALID  # one valid line makes the order valid
    o_amount = np.bincount(valid_order, weights=valid_amount, minlength=n_orders)

    # Sort orders by (customer, day); the stable sort keeps ties in order-id order.
    span = int(o_day.max(initial=0)) - int(o_day.min(initial=0)) + 1
    key = o_cust.astype(np.int64) * span + (o_day - o_day.min(initial=0))
    order_sort = stable_argsort(key)
    rank = np.empty(n_orders, dtype=np.int32)
    rank[order_sort] = np.arange(n_orders, dtype=np.int32)
    line_of_order = rep[order_sort]  # a line of each order, in the sorted order
    return Prepared(
        as_of=as_of_ts,
        as_of_day=as_of_day,
        customer_ids=pd.Index(customer_ids),
        groups=pd.Index(groups),
        companies=pd.Index(companies),
        customer_groups=pd.Index(customer_groups),
        o_cust=o_cust[order_sort],
        o_day=o_day[order_sort],
        o_state=o_state[order_sort],
        o_amount=o_amount[order_sort],
        o_company=company[line_of_order].astype(np.int32),
        o_cgroup=cgroup[line_of_order].astype(np.int32),
        l_order=rank[valid_order],
        l_group=group[valid_line].astype(np.int32),
        l_amount=valid_amount,
        o_id=order_ids[line_of_order],
    )


def last_per_customer(cust_sorted: np.ndarray, mask: np.ndarray, n_customers: int) -> np.ndarray:
    """Index of the last row with ``mask`` per customer in customer-sorted arrays, -1 if none."""
    idx = np.flatnonzero(mask)
    cust = cust_sorted[idx]
    is_last = np.ones(len(idx), dtype=bool)
    np.not_equal(cust[1:], cust[:-1], out=is_last[:-1])
    out = np.full(n_customers, -1, dtype=np.int64)
    out[cust[is_last]] = idx[is_last]
    return out

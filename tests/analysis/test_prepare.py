"""Reading order lines: ids, days, states, orders."""

import numpy as np
import pandas as pd

from recovery.analysis.prepare import (
    OPEN,
    VALID,
    VOID,
    id_codes,
    prepare,
    stable_argsort,
    stable_sort,
)

from .builders import frame, line


def test_id_codes_dense_and_hashed_agree():
    ids = np.array([30, 10, 30, 20, 10])
    codes, uniques = id_codes(ids)
    assert uniques[codes].tolist() == ids.tolist()
    assert uniques.tolist() == [10, 20, 30]  # compact integer range: sorted, no hashing
    sparse = np.array([10**15, 3, 10**15, -7])
    codes, uniques = id_codes(sparse)
    assert uniques[codes].tolist() == sparse.tolist()
    names = np.array(["b", "a", "b"], dtype=object)
    codes, uniques = id_codes(names)
    assert uniques[codes].tolist() == ["b", "a", "b"]


def test_orders_states_and_days():
    lines = frame(
        line("A", 1, "2024-01-02 10:00", 10),
        line("A", 1, "2024-01-01 23:00", 5),  # an order's day is its earliest line
        line("A", 2, "2024-01-05", 7, state="cancelled"),
        line("A", 3, "2024-01-06", 8, state="open"),
        line("A", 4, "2024-01-07", 9, state="returned"),
        line("A", 5, "2024-01-08", 4, state="cancelled"),
        line("A", 5, "2024-01-08", 6),  # a partly cancelled order is valid
    )
    lines.loc[0, "state"] = np.nan  # missing state means completed
    prep = prepare(lines, "2024-12-31")
    days = (prep.o_day - pd.Timestamp("2024-01-01").toordinal() + 719163).tolist()
    assert days == [0, 4, 5, 6, 7]
    assert prep.o_state.tolist() == [VALID, VOID, OPEN, VOID, VALID]
    assert prep.o_amount.tolist() == [15, 0, 0, 0, 6]
    assert sorted(prep.l_amount.tolist()) == [5, 6, 10]


def test_string_dates_with_offsets_are_read_as_utc():
    lines = frame(line("A", 1, "2024-01-01", 1))
    lines["ordered_at"] = ["2024-03-31T23:30:00-02:00"]  # 01:30 UTC on 1 April
    assert len(prepare(lines, "2024-03-31").o_day) == 0
    assert len(prepare(lines, "2024-04-01").o_day) == 1


def test_stable_argsort_matches_numpy_including_ties():
    rng = np.random.default_rng(5)
    for high in (3, 1000, 2**40):
        key = rng.integers(0, high, 5000)
        assert np.array_equal(stable_argsort(key), np.argsort(key, kind="stable"))
    assert stable_argsort(np.array([], dtype=np.int64)).tolist() == []


def test_stable_sort_gives_the_order_and_the_sorted_keys():
    rng = np.random.default_rng(7)
    for high in (1, 1000, 2**40, 2**60):  # 2**60: too wide to pack, numpy's argsort
        key = rng.integers(0, high, 3000)
        order, keys = stable_sort(key)
        assert np.array_equal(order, np.argsort(key, kind="stable"))
        assert keys.dtype == np.int64 and np.array_equal(keys, key[order])
    order, keys = stable_sort(np.array([5], dtype=np.int32))
    assert order.tolist() == [0] and keys.tolist() == [5]

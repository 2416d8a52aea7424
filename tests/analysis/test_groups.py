"""score_customer_groups: overdue per customer × product group."""

import pandas as pd
import pytest

from recovery.analysis import (
    AnalysisSettings,
    explain,
    score_customer_groups,
    score_customers,
    score_customers_and_groups,
)

from .builders import demo_like_history, frame, line

AS_OF = pd.Timestamp("2024-06-30")
DEFAULTS = AnalysisSettings(group_default_intervals={"Kaffee": 30, "Tee": 60})


def orders_every(customer, group, gap, count, last_days_ago, amount=20.0, start_id=0):
    last = AS_OF - pd.Timedelta(days=last_days_ago)
    return [
        line(
            customer,
            f"{customer}-{group}-{start_id + i}",
            str((last - pd.Timedelta(days=gap * (count - 1 - i))).date()),
            amount,
            group=group,
        )
        for i in range(count)
    ]


def pairs(result):
    return result.set_index(["customer_id", "product_group"])


def test_each_group_has_its_own_rhythm_and_flag():
    lines = frame(
        *orders_every("A", "Kaffee", 30, 10, last_days_ago=50),  # 50 > 45: overdue
        *orders_every("A", "Tee", 60, 5, last_days_ago=20),  # fine
        line("A", "mixed", "2024-06-25", 5, group=None),  # no group: left out
    )
    result = pairs(score_customer_groups(lines, AS_OF, DEFAULTS))
    assert list(result.index) == [("A", "Kaffee"), ("A", "Tee")]
    kaffee, tee = result.loc[("A", "Kaffee")], result.loc[("A", "Tee")]
    assert (kaffee.orders, kaffee.days_since_last_order) == (10, 50)
    assert kaffee.typical_interval_days == pytest.approx(30)
    assert kaffee.flag_overdue and not tee.flag_overdue
    assert kaffee.expected_next_order == AS_OF - pd.Timedelta(days=20)
    assert kaffee.revenue == 200
    assert kaffee.reason == "bestellt „Kaffee“ im Schnitt alle 30 Tage; zuletzt vor 50 Tagen"
    assert explain(kaffee.reason_key, kaffee.reason_params, "en") == (
        "orders “Kaffee” every 30 days on average; last time 50 days ago"
    )


def test_only_an_order_of_the_same_group_clears_the_flag():
    base = orders_every("A", "Kaffee", 30, 10, last_days_ago=50)
    other = line("A", "t", str((AS_OF - pd.Timedelta(days=2)).date()), 9, group="Tee")
    result = pairs(score_customer_groups(frame(*base, other), AS_OF, DEFAULTS))
    assert result.loc[("A", "Kaffee"), "flag_overdue"]
    same = line("A", "k", str((AS_OF - pd.Timedelta(days=2)).date()), 9, group="Kaffee")
    result = pairs(score_customer_groups(frame(*base, same), AS_OF, DEFAULTS))
    assert not result.loc[("A", "Kaffee"), "flag_overdue"]
    assert result.loc[("A", "Kaffee"), "orders"] == 11


def test_one_order_with_two_lines_of_a_group_counts_once():
    lines = frame(
        line("A", 1, "2024-01-01", 10),
        line("A", 1, "2024-01-01", 15),
        line("A", 2, "2024-02-01", 10),
        line("A", 3, "2024-02-01", 10),  # second order that day: one order day
    )
    kaffee = pairs(score_customer_groups(lines, AS_OF)).loc[("A", "Kaffee")]
    assert (kaffee.orders, kaffee.order_days, kaffee.revenue) == (3, 2, 45)


def test_open_orders_and_exclusions_remove_all_flags_of_the_customer():
    lines = frame(
        *orders_every("A", "Kaffee", 30, 10, last_days_ago=50),
        line(
            "A", "open", str((AS_OF - pd.Timedelta(days=1)).date()), 30, group="Tee", state="open"
        ),
        *orders_every("B", "Kaffee", 30, 10, last_days_ago=50),
    )
    result = pairs(score_customer_groups(lines, AS_OF, DEFAULTS, excluded={"B": "no_interest"}))
    assert result.loc[("A", "Kaffee"), "excluded_reason"] == "open_order"
    assert result.loc[("B", "Kaffee"), "excluded_reason"] == "no_interest"
    assert not result["flag_overdue"].any()
    assert ("A", "Tee") not in result.index  # an open order is no valid order


def test_orders_of_a_pair_are_counted_once_when_their_lines_interleave():
    # two orders on one day whose lines alternate, and an order listed before an
    # earlier-numbered one of the same day: each is one order of the pair
    day = str((AS_OF - pd.Timedelta(days=3)).date())
    lines = frame(
        *orders_every("A", "Kaffee", 30, 3, last_days_ago=33),
        line("A", "x2", day, 1, group="Kaffee"),
        line("A", "x1", day, 2, group="Kaffee"),
        line("A", "x2", day, 4, group="Kaffee"),
        line("A", "x1", day, 8, group="Kaffee"),
        line("A", "x1", day, 16, group="Tee"),
        line("B", "y1", day, 5, group="Tee"),
        line("B", "y2", day, 5, group="Tee"),
        line("B", "y1", day, 5, group="Tee"),
    )
    result = pairs(score_customer_groups(lines, AS_OF, DEFAULTS))
    assert result.loc[("A", "Kaffee"), "orders"] == 5
    assert result.loc[("A", "Kaffee"), "order_days"] == 4
    assert result.loc[("A", "Kaffee"), "revenue"] == 3 * 20 + 15
    assert result.loc[("A", "Tee"), "orders"] == 1
    assert result.loc[("B", "Tee"), "orders"] == 2
    # the same lines in another order count the same
    shuffled = pairs(score_customer_groups(lines.iloc[::-1], AS_OF, DEFAULTS))
    assert shuffled["orders"].to_dict() == result["orders"].to_dict()


def test_customers_and_groups_together_equal_the_two_calls():
    lines = demo_like_history(seed=3, customers=400)
    settings = AnalysisSettings(exclude_customer_groups=("Mitarbeiter",))
    excluded = {lines["customer_id"].iloc[0]: "no_interest"}
    customers, groups = score_customers_and_groups(lines, "2024-12-31", settings, excluded)
    alone = score_customers(lines, "2024-12-31", settings, excluded)
    pd.testing.assert_frame_equal(customers, alone, check_exact=True)
    assert customers.attrs == alone.attrs
    assert customers["seasonal"].any() and customers["excluded_reason"].notna().any()
    pd.testing.assert_frame_equal(
        groups, score_customer_groups(lines, "2024-12-31", settings, excluded), check_exact=True
    )

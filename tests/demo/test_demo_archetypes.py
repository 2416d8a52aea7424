"""Every customer archetype of the demo is present and behaves like its name says."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from recovery.demo.generator import ARCHETYPES

from .conftest import AS_OF, Demo

NOW = pd.Timestamp(AS_OF)


def days_ago(n: int) -> pd.Timestamp:
    return NOW - pd.Timedelta(days=n)


def customers_of(demo: Demo, archetype: str) -> list[str]:
    return [k for k, a in demo.stats.customer_archetypes.items() if a == archetype]


def orders_of(demo: Demo, archetype: str) -> pd.DataFrame:
    return demo.orders[demo.orders["archetyp"] == archetype]


def window_revenue(orders: pd.DataFrame, statuses: tuple[str, ...]) -> pd.DataFrame:
    """Net revenue per customer: last 12 months vs the 12 months before."""
    o = orders[orders["status"].isin(statuses)]
    last = o[o["datum"] > days_ago(365)].groupby("kunde")["netto"].sum()
    prior = o[(o["datum"] <= days_ago(365)) & (o["datum"] > days_ago(730))]
    prior = prior.groupby("kunde")["netto"].sum()
    both = pd.DataFrame({"last": last, "prior": prior}).fillna(0.0)
    return both


DONE = ("abgeschlossen",)
ALL = ("abgeschlossen", "offen", "storniert", "retoure")


def test_every_archetype_is_present_in_realistic_proportions(demo: Demo) -> None:
    counts = demo.stats.archetypes
    assert set(counts) == set(ARCHETYPES)
    assert sum(counts.values()) == demo.stats.customers
    share = {a: c / demo.stats.customers for a, c in counts.items()}
    assert all(share[a] >= 0.04 for a in ARCHETYPES if a != "big_b2b")
    assert 3 <= counts["big_b2b"] <= 0.02 * demo.stats.customers
    assert share["regular"] == max(share.values())
    for a in ARCHETYPES:
        assert len(customers_of(demo, a)) == counts[a]
        assert orders_of(demo, a)["kunde"].nunique() == counts[a]


@pytest.mark.parametrize("statuses", [DONE, ALL])
def test_decliners_lost_at_least_30_percent(demo: Demo, statuses: tuple[str, ...]) -> None:
    rev = window_revenue(orders_of(demo, "decliner"), statuses)
    assert len(rev) == demo.stats.archetypes["decliner"]
    assert (rev["prior"] > 0).all()
    assert (rev["last"] <= 0.70 * rev["prior"]).all()
    ratio = rev["last"] / rev["prior"]
    assert (ratio <= 0.4).mean() >= 0.3  # a good part lost 60-90 % or more


def test_decliners_still_order(demo: Demo) -> None:
    o = orders_of(demo, "decliner")
    recent = o[(o["datum"] > days_ago(120)) & (o["status"] == "abgeschlossen")]
    assert recent["kunde"].nunique() == demo.stats.archetypes["decliner"]
    prior = o[(o["datum"] <= days_ago(365)) & (o["datum"] > days_ago(730))]
    assert (prior[prior["status"] == "abgeschlossen"].groupby("kunde").size() >= 3).all()


def test_stopped_customers_had_a_history_and_stopped_4_to_20_months_ago(demo: Demo) -> None:
    o = orders_of(demo, "stopped")
    last = o.groupby("kunde")["datum"].max()
    assert (last <= days_ago(120)).all()
    assert (last >= days_ago(610)).all()
    assert (o[o["status"] == "abgeschlossen"].groupby("kunde").size() >= 3).all()
    last_status = o.sort_values("datum").groupby("kunde")["status"].last()
    assert (last_status == "abgeschlossen").all()


def test_open_order_customers_have_a_recent_open_order(demo: Demo) -> None:
    open_orders = demo.orders[demo.orders["status"] == "offen"]
    assert set(open_orders["kunde"]) == set(customers_of(demo, "open_order"))
    assert (open_orders["datum"] >= days_ago(21)).all()
    assert (open_orders.groupby("kunde").size() == 1).all()
    history = orders_of(demo, "open_order")
    assert (history[history["status"] != "offen"].groupby("kunde").size() >= 3).all()


def test_new_customers_started_in_the_last_6_months(demo: Demo) -> None:
    first = orders_of(demo, "new").groupby("kunde")["datum"].min()
    assert (first >= days_ago(180)).all()
    others = demo.orders[demo.orders["archetyp"] != "new"].groupby("kunde")["datum"].min()
    assert (others < days_ago(180)).all()


def test_one_time_buyers_ordered_once_long_ago(demo: Demo) -> None:
    o = orders_of(demo, "one_time")
    assert (o.groupby("kunde").size() == 1).all()
    assert (o["datum"] < days_ago(180)).all()
    assert (o["status"] == "abgeschlossen").all()


def test_occasional_buyers_order_now_and_then(demo: Demo) -> None:
    o = orders_of(demo, "occasional")
    n = o.groupby("kunde").size()
    assert n.between(2, 6).all()
    assert (o.groupby("kunde")["datum"].min() < days_ago(365)).all()


@pytest.mark.parametrize("archetype", ["regular", "big_b2b"])
def test_regular_customers_are_stable(demo: Demo, archetype: str) -> None:
    rev = window_revenue(orders_of(demo, archetype), DONE)
    assert len(rev) == demo.stats.archetypes[archetype]
    assert (rev["prior"] > 0).all()
    assert (rev["last"] >= 0.8 * rev["prior"]).all()
    last = orders_of(demo, archetype).groupby("kunde")["datum"].max()
    assert (last >= days_ago(200)).all()


def test_regular_customers_reorder_a_product_group_in_rhythm(demo: Demo) -> None:
    lines = demo.lines[
        (demo.lines["Archetyp"] == "regular") & (demo.lines["Status"] != "storniert")
    ]
    per_group = lines.drop_duplicates(["Kundennummer", "Warengruppe", "Datum"])
    per_group = per_group.sort_values("Datum")
    per_group["gap"] = per_group.groupby(["Kundennummer", "Warengruppe"])["Datum"].diff().dt.days
    stats = per_group.groupby(["Kundennummer", "Warengruppe"])["gap"].agg(["count", "mean", "std"])
    main = stats.sort_values("count").groupby(level="Kundennummer").tail(1)
    assert len(main) == demo.stats.archetypes["regular"]
    assert (main["count"] >= 4).mean() >= 0.97  # at least five orders of the main group
    assert (main["std"] / main["mean"]).median() < 0.6


def test_big_b2b_customers_bring_high_revenue(demo: Demo) -> None:
    o = demo.orders[demo.orders["status"] == "abgeschlossen"]
    total = o.groupby("kunde")["netto"].sum()
    big = total[total.index.isin(customers_of(demo, "big_b2b"))]
    assert (big >= 10 * total.median()).all()
    top = total.sort_values(ascending=False).head(demo.stats.archetypes["big_b2b"])
    assert top.index.isin(big.index).mean() >= 0.6
    groups = orders_of(demo, "big_b2b")["gruppe"]
    assert (groups == "Großkunde").all()


def test_seasonality(demo: Demo) -> None:
    lines = demo.lines
    month = lines["Datum"].dt.month
    garden = lines["Warengruppe"].isin(["Saatgut", "Dünger", "Erden & Substrate"])
    assert (garden & month.isin([3, 4, 5])).sum() > 2 * (garden & month.isin([11, 12, 1])).sum()
    grill = lines["Warengruppe"] == "Grillzubehör"
    assert (grill & month.isin([6, 7, 8])).sum() > 3 * (grill & month.isin([12, 1, 2])).sum()
    by_month = lines[lines["Warengruppe"] == "Werkzeug"].groupby(month).size()
    assert by_month.idxmax() == 12
    assert (
        lines.loc[lines["Artikelname"] == "Adventskranz frisch", "Datum"]
        .dt.month.isin([11, 12])
        .all()
    )


def test_no_order_after_as_of(demo: Demo) -> None:
    assert demo.lines["Datum"].max() <= NOW
    assert (demo.orders["datum"] >= NOW - timedelta(days=3 * 365)).all()

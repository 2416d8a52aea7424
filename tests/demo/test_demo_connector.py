"""The demo export goes through the product's CSV connector like a user's file."""

from __future__ import annotations

from collections import Counter

import pytest

from .conftest import Demo

csv_file = pytest.importorskip("wawi_connectors.csv_file")
base = pytest.importorskip("wawi_connectors.base")


def test_csv_connector_imports_the_demo_export(demo: Demo) -> None:
    connector = csv_file.CsvFileConnector({"path": str(demo.path)})
    connector.test_connection()  # every required field is mapped from the headers
    check = connector.check()
    stats = demo.stats
    assert (check.lines, check.customers, check.orders) == (
        stats.lines,
        stats.customers,
        stats.orders,
    )
    customers = [r for b in connector.read("customers", base.ReadContext()) for r in b.records]
    orders = [r for b in connector.read("orders", base.ReadContext()) for r in b.records]
    assert len(customers) == stats.customers and len(orders) == stats.orders
    assert sum(o.net_total for o in orders) == stats.net_total
    states = Counter(o.state for o in orders)
    assert states["open"] == stats.open_orders
    assert states["cancelled"] == stats.cancelled_orders
    assert states["returned"] == stats.returned_orders
    assert {o.company for o in orders} == set(stats.company_names)
    consent = Counter(c.marketing_consent for c in customers)
    assert consent[False] == stats.customers_without_consent
    assert sum(c.email is None for c in customers) == stats.customers_without_email
    assert all(o.ordered_at.date() <= stats.as_of for o in orders)

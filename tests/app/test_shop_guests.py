"""A shop's guest orders belong to the registered customer with the same email (issue 12
items 5 and 6), whichever of the two the sync stores first.

WooCommerce: read by the real connector from WooCommerce's documented examples
(tests/data/vendor/woocommerce/): order 727 is by the guest john.doe@example.com, and
customer 25 is registered with that email. Shopware: an order whose
``orderCustomer.customerId`` is missing, from the fake Admin API, and Shopware's own
demo-shop order 28118, whose ``orderCustomer`` has no ``customerId``
(tests/data/vendor/shopware/).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from recovery.audience.facts import refresh_order_facts
from recovery.models import Customer, CustomerOrderFact, Order
from recovery.sources.store import Store
from tests.fakes.shopware import CLIENT_ID, CLIENT_SECRET, FakeShopware
from tests.fakes.shopware import vendor_example as shopware_example
from tests.fakes.woocommerce import CONSUMER_KEY, CONSUMER_SECRET, FakeWooCommerce, vendor_example
from wawi_connectors import ReadContext
from wawi_connectors.shopware6 import Shopware6Connector
from wawi_connectors.woocommerce import WooCommerceConnector


@pytest.fixture
def woo():
    shop = FakeWooCommerce()
    with shop.server() as server:
        connector = WooCommerceConnector(
            {
                "base_url": server.url,
                "consumer_key": CONSUMER_KEY,
                "consumer_secret": CONSUMER_SECRET,
            }
        )
        yield shop, connector
        connector.close()


def sync(db, connector, stream: str) -> None:
    store = Store("woo")
    for batch in connector.read(stream, ReadContext()):
        store.batch(batch)
    db.session.commit()


def owners(db) -> dict[str, str]:
    """Order external id → its customer's external id."""
    rows = db.session.execute(
        select(Order.external_id, Customer.external_id).join(
            Customer, Order.customer_id == Customer.id
        )
    )
    return dict(rows.tuples().all())


def test_a_guest_order_goes_to_the_registered_customer_with_its_email(db, woo):
    shop, connector = woo
    shop.load(customers=vendor_example("customers_list"), orders=vendor_example("orders_list"))
    sync(db, connector, "customers")
    sync(db, connector, "orders")
    assert owners(db) == {"727": "25", "723": "26"}


def test_guest_orders_move_to_the_customer_who_registers_later(db, woo):
    shop, connector = woo
    shop.load(orders=vendor_example("orders_list"))
    sync(db, connector, "orders")
    assert owners(db)["727"] == "guest:john.doe@example.com"
    shop.load(customers=vendor_example("customers_list"))
    sync(db, connector, "customers")
    assert owners(db) == {"727": "25", "723": "26"}
    # Read again, the guest's order stays with the registered customer.
    sync(db, connector, "orders")
    assert owners(db) == {"727": "25", "723": "26"}


def test_a_shopware_order_without_customer_id_goes_to_the_customer_with_its_email(db):
    shop = FakeShopware()
    at = datetime(2025, 3, 1, 10, tzinfo=UTC)
    eva = shop.add_customer("eva@example.com", "Eva", "Berg", created=at)
    buyer = {"customerId": None, "email": "EVA@example.com", "firstName": "Eva"}
    line = {"label": "Samen", "sku": "S-1", "unit_gross": "11.90"}
    order = shop.add_order(None, created=at, buyer=buyer, lines=[line])
    with shop.server() as server:
        settings = {"base_url": server.url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        connector = Shopware6Connector(settings)
        sync(db, connector, "customers")
        sync(db, connector, "orders")
        connector.close()
    assert owners(db) == {order["id"]: eva["id"]}


def test_shopwares_demo_order_without_customer_id_goes_to_the_registered_customer(db):
    shop = FakeShopware()
    (order,) = shopware_example("order_route_response")["orders"]["elements"]
    shop.load_orders([order])
    buyer = order["orderCustomer"]
    registered = shop.add_customer(
        buyer["email"],
        buyer["firstName"],
        buyer["lastName"],
        created=datetime(2023, 1, 2, tzinfo=UTC),
        number=buyer["customerNumber"],
    )
    with shop.server() as server:
        settings = {"base_url": server.url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        connector = Shopware6Connector(settings)
        sync(db, connector, "orders")  # the order first: stored with the guest
        assert owners(db) == {order["id"]: "guest:m.danilowicz@shopware.com"}
        sync(db, connector, "customers")
        sync(db, connector, "orders")
        connector.close()
    assert owners(db) == {order["id"]: registered["id"]}
    stored = db.session.scalars(select(Order)).one()
    assert (stored.net_total, stored.gross_total) == (Decimal("81.30"), Decimal("100.00"))


def test_moved_guest_orders_move_the_group_rules_order_facts_too(db, woo):
    # the kept order facts (audience/facts.py) follow the orders to the registered
    # customer: the move writes updated_at of the orders and of the guest's row
    shop, connector = woo
    shop.load(orders=vendor_example("orders_list"))
    sync(db, connector, "orders")
    long_ago = datetime.now(UTC) - timedelta(days=3)
    db.session.execute(update(Order).values(updated_at=long_ago))
    db.session.execute(update(Customer).values(updated_at=long_ago))
    db.session.commit()
    refresh_order_facts()
    db.session.commit()

    def with_facts() -> set[str]:
        stmt = select(Customer.external_id).join(
            CustomerOrderFact, CustomerOrderFact.customer_id == Customer.id
        )
        return set(db.session.scalars(stmt))

    assert "guest:john.doe@example.com" in with_facts()
    shop.load(customers=vendor_example("customers_list"))
    sync(db, connector, "customers")
    refresh_order_facts()
    db.session.commit()
    facts = with_facts()
    assert "25" in facts
    assert "guest:john.doe@example.com" not in facts

"""A shop's guest orders belong to the registered customer with the same email (issue 12
items 5 and 6), whichever of the two the sync stores first.

Read by the real WooCommerce connector from WooCommerce's documented examples
(tests/data/vendor/woocommerce/): order 727 is by the guest john.doe@example.com, and
customer 25 is registered with that email.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from recovery.models import Customer, Order
from recovery.sources.store import Store
from tests.fakes.woocommerce import CONSUMER_KEY, CONSUMER_SECRET, FakeWooCommerce, vendor_example
from wawi_connectors import ReadContext
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

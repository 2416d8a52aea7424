"""The Shopware 6 connector against a fake Admin API on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.fakes.server import Store
from tests.fakes.shopware import CLIENT_ID, CLIENT_SECRET, FakeShopware, vendor_example
from wawi_connectors import (
    AuthenticationError,
    CustomerRecord,
    OrderRecord,
    ReadContext,
    TransientError,
    get_connector_class,
)
from wawi_connectors.shopware6 import Shopware6Connector

T0 = datetime(2024, 5, 1, 10, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
SEARCH_ORDER = "/api/search/order"


def drill_line(product: dict, quantity: int = 2) -> dict:
    return {
        "label": "Akku-Bohrer",
        "sku": "SW-1",
        "quantity": quantity,
        "unit_gross": "119.00",
        "product": product,
    }


@pytest.fixture
def shop() -> FakeShopware:
    shop = FakeShopware()
    anna = shop.add_customer(
        "anna@example.com", "Anna", "Alt", created=T0, number="K-1", salutation="mrs"
    )
    bernd = shop.add_customer(
        "bernd@example.com",
        "Bernd",
        "Bau",
        created=T0 + HOUR,
        updated=T0 + 2 * DAY,
        salutation="not_specified",
    )
    carla = shop.add_customer(
        "carla@example.com", "Carla", "Corn", created=T0 + 2 * HOUR, company="Carla GmbH"
    )
    shop.add_newsletter_recipient("ANNA@example.com", "optIn")
    shop.add_newsletter_recipient("bernd@example.com", "optOut")
    drill = shop.product("SW-1", [("Werkzeug", 1), ("Bohrmaschinen", 2)], {"warengruppe": "WG-10"})
    glue = shop.product("SW-2", [("Kleber", 2), ("Bau", 2)])
    day1 = T0 + DAY
    shop.add_order(anna, created=day1, state="completed", lines=[drill_line(drill)])
    shop.add_order(
        bernd,
        created=day1 + HOUR,
        updated=T0 + 3 * DAY,
        state="in_progress",
        lines=[drill_line(drill, 1)],
    )
    shop.add_order(carla, created=day1 + 2 * HOUR, state="cancelled", lines=[drill_line(drill)])
    shop.add_order(
        anna,
        created=day1 + 3 * HOUR,
        updated=T0 + 3 * DAY + HOUR,
        state="completed",
        delivery_state="returned",
        lines=[drill_line(drill)],
    )
    shop.add_order(
        anna,
        created=day1 + 4 * HOUR,
        state="completed",
        payment_state="refunded",
        lines=[drill_line(drill)],
    )
    shop.add_order(
        None,
        created=day1 + 5 * HOUR,
        lines=[drill_line(drill)],
        buyer={
            "customerId": None,
            "email": "Old@Example.com",
            "firstName": "Olga",
            "lastName": "Old",
            "company": None,
            "customerNumber": "K-9",
        },
    )
    shop.add_order(
        carla,
        created=day1 + 6 * HOUR,
        lines=[
            {
                "label": "Holzleim",
                "sku": "SW-2",
                "quantity": 2,
                "unit_gross": "11.90",
                "product": glue,
            },
            {"label": "10 % Rabatt", "type": "promotion", "unit_gross": "-11.90"},
        ],
    )
    return shop


@pytest.fixture
def server(shop):
    with shop.server() as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def connect(server, sleeps):
    connectors = []

    def connect(clock=None, **settings) -> Shopware6Connector:
        values = {
            "base_url": server.url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "page_size": 2,
            "connect_timeout": 0.5,
            "read_timeout": 0.5,
            "max_retries": 2,
            **settings,
        }
        extra = {"clock": clock} if clock else {}
        connector = Shopware6Connector(values, sleep=sleeps.append, **extra)
        connectors.append(connector)
        return connector

    yield connect
    for connector in connectors:
        connector.close()


def orders_by_number(store: Store) -> dict[str, OrderRecord]:
    return {order.number: order for order in store.of(OrderRecord).values()}


def test_registered_with_a_secret_client_secret():
    assert get_connector_class("shopware6") is Shopware6Connector
    assert Shopware6Connector.secret_fields() == {"client_secret"}


def test_connection_test_counts_orders(connect):
    assert connect().test_connection() == "Connected to Shopware: 7 orders."


def test_full_read_maps_customers(connect):
    store = Store()
    store.sync(connect(), "customers")
    customers = {c.email: c for c in store.of(CustomerRecord).values()}
    anna = customers["anna@example.com"]
    assert (anna.number, anna.first_name, anna.last_name) == ("K-1", "Anna", "Alt")
    assert (anna.phone, anna.city, anna.country) == ("030 123456", "Berlin", "DE")
    assert anna.customer_group == "Standard customer group"
    assert anna.updated_at == T0
    assert anna.marketing_consent is True
    assert customers["bernd@example.com"].marketing_consent is False
    assert customers["bernd@example.com"].updated_at == T0 + 2 * DAY
    assert customers["carla@example.com"].marketing_consent is None
    assert customers["carla@example.com"].company_name == "Carla GmbH"
    # the salutation association's key, as the source says it (the app makes it a code)
    assert anna.salutation == "mrs"
    assert customers["bernd@example.com"].salutation == "not_specified"
    assert customers["carla@example.com"].salutation is None


def test_full_read_maps_orders_lines_and_amounts(connect, shop):
    store = Store()
    store.sync(connect(), "orders")
    orders = orders_by_number(store)
    assert len(orders) == 7
    first = orders["10000"]
    anna_id = next(c["id"] for c in shop.entities["customer"].values() if c["firstName"] == "Anna")
    assert first.customer_external_id == anna_id
    assert first.ordered_at == T0 + DAY
    assert (first.currency, first.company) == ("EUR", "Storefront")
    # 2 × 119.00 gross incl. 19 % = 200.00 net; shipping (5.95 gross) is not revenue.
    assert first.gross_total == Decimal("243.95")
    assert first.net_total == Decimal("200.00")
    (line,) = first.lines
    assert (line.sku, line.product_name, line.quantity) == ("SW-1", "Akku-Bohrer", Decimal(2))
    assert (line.net_amount, line.gross_amount) == (Decimal("200.00"), Decimal("238.00"))
    assert line.product_group == "Bohrmaschinen"  # the deepest of its categories
    discounted = orders["10006"]
    # 23.80 gross glue and an 11.90 promotion: the merchandise is the glue's 20.00 net
    # before the voucher (docs/revenue.md); the customer pays 11.90 + 5.95 shipping.
    assert discounted.net_total == Decimal("20.00")
    assert discounted.gross_total == Decimal("17.85")
    assert [(li.sku, li.net_amount, li.product_group) for li in discounted.lines] == [
        ("SW-2", Decimal("20.00"), "Bau")
    ]


def test_order_states(connect):
    store = Store()
    store.sync(connect(), "orders")
    states = {number: order.state for number, order in orders_by_number(store).items()}
    assert states == {
        "10000": "completed",
        "10001": "open",  # in_progress
        "10002": "cancelled",
        "10003": "returned",  # delivery returned
        "10004": "returned",  # last payment refunded
        "10005": "open",
        "10006": "open",
    }


def test_order_of_a_deleted_customer_keeps_the_buyer_by_email(connect):
    store = Store()
    store.sync(connect(), "orders")
    assert orders_by_number(store)["10005"].customer_external_id == "guest:old@example.com"
    guest = store.of(CustomerRecord)["guest:old@example.com"]
    assert (guest.first_name, guest.number, guest.email) == ("Olga", "K-9", "Old@Example.com")


def test_product_group_from_a_custom_field(connect):
    store = Store()
    store.sync(connect(product_group_field="warengruppe"), "orders")
    groups = {li.sku: li.product_group for o in store.of(OrderRecord).values() for li in o.lines}
    assert groups == {"SW-1": "WG-10", "SW-2": None}


def test_incremental_read_gets_the_changed_and_the_new_order_only(connect, shop):
    connector = connect()
    store = Store()
    store.sync(connector, "orders")
    assert store.sync(connector, "orders") == []

    changed = next(o for o in shop.entities["order"].values() if o["orderNumber"] == "10005")
    shop.touch(changed, T0 + 5 * DAY, stateMachineState={"technicalName": "completed"})
    carla = next(c for c in shop.entities["customer"].values() if c["firstName"] == "Carla")
    drill = changed["lineItems"][0]["product"]
    shop.add_order(carla, created=T0 + 6 * DAY, number="20000", lines=[drill_line(drill)])

    batches = store.sync(connector, "orders")
    read = [r.number for b in batches for r in b.records if isinstance(r, OrderRecord)]
    assert sorted(read) == ["10005", "20000"]
    assert orders_by_number(store)["10005"].state == "completed"
    assert store.sync(connector, "orders") == []


def test_orders_sharing_one_timestamp_are_read_once(connect, shop):
    carla = next(c for c in shop.entities["customer"].values() if c["firstName"] == "Carla")
    drill = next(iter(shop.entities["order"].values()))["lineItems"][0]["product"]
    for n in range(5):
        shop.add_order(carla, created=T0 + 9 * DAY, number=f"3000{n}", lines=[drill_line(drill)])
    connector = connect()
    store = Store()
    batches = store.sync(connector, "orders")
    read = [r.number for b in batches for r in b.records if isinstance(r, OrderRecord)]
    assert len(read) == len(set(read)) == 12
    assert store.sync(connector, "orders") == []


def test_a_fault_mid_paging_fails_the_run_and_the_next_run_resumes(connect, shop, sleeps):
    connector = connect()
    store = Store()
    reading = connector.read("orders", ReadContext())
    store.commit(next(reading))
    store.commit(next(reading))
    committed = set(store.of(OrderRecord))
    shop.faults.add("status", status=500, times=3, path=SEARCH_ORDER)
    with pytest.raises(TransientError) as caught:
        next(reading)
    assert "Shopware answered HTTP 500 on POST /api/search/order" in str(caught.value)
    assert "after 3 attempts" in str(caught.value)
    assert len(sleeps) == 2
    assert json.loads(store.cursor)["created"]

    resumed = store.sync(connect(), "orders")
    again = [r.external_id for b in resumed for r in b.records if isinstance(r, OrderRecord)]
    assert not committed & set(again)
    assert set(store.of(OrderRecord)) == set(shop.entities["order"])


def test_429_waits_for_retry_after(connect, shop, sleeps):
    shop.faults.add("status", status=429, retry_after="7", path=SEARCH_ORDER)
    store = Store()
    store.sync(connect(), "orders")
    assert sleeps == [7.0]
    assert len(store.of(OrderRecord)) == 7


def test_broken_json_and_timeouts_are_retried(connect, shop, sleeps):
    shop.faults.add("broken_json", path=SEARCH_ORDER)
    shop.faults.add("timeout", seconds=1.0, path=SEARCH_ORDER)
    store = Store()
    store.sync(connect(), "orders")
    assert len(sleeps) == 2
    assert len(store.of(OrderRecord)) == 7


def test_wrong_credentials_fail_at_once(connect, shop):
    connector = connect(client_secret="wrong")
    with pytest.raises(AuthenticationError, match="authentication failed: .*Client authentication"):
        connector.test_connection()
    assert shop.count() == 1


def test_token_is_reused_and_renewed_before_it_expires(connect, shop):
    clock = Clock()
    connector = connect(clock=clock)
    Store().sync(connector, "orders")
    assert shop.count("/api/search/order") > 4
    assert shop.count("/api/oauth/token") == 1
    clock.now += 575  # Shopware tokens live 600 s; we renew 30 s early
    connector.test_connection()
    assert shop.count("/api/oauth/token") == 2


def test_a_token_refused_mid_run_is_renewed_once(connect, shop):
    connector = connect()
    store = Store()
    reading = connector.read("orders", ReadContext())
    store.commit(next(reading))
    shop.revoke_tokens()
    for batch in reading:
        store.commit(batch)
    assert len(store.of(OrderRecord)) == 7
    assert shop.count("/api/oauth/token") == 2


def test_lookback_rereads_orders_whose_delivery_was_returned_later(connect, shop):
    connector = connect()
    store = Store()
    store.sync(connector, "orders")
    first = next(o for o in shop.entities["order"].values() if o["orderNumber"] == "10000")
    # A delivery transition writes order_delivery; the order's updatedAt stays as it was.
    first["deliveries"][0]["stateMachineState"] = {"technicalName": "returned"}
    assert store.sync(connector, "orders") == []

    cursor = store.cursor
    store.sync(connector, "orders", lookback_since=T0 + DAY)
    assert orders_by_number(store)["10000"].state == "returned"
    assert store.cursor == cursor


def test_a_bare_timestamp_cursor_reads_everything_changed_since(connect):
    store = Store()
    store.cursor = (T0 + DAY + 4 * HOUR).isoformat()
    store.sync(connect(), "orders")
    assert set(orders_by_number(store)) == {"10001", "10003", "10004", "10005", "10006"}


def test_a_line_without_price_block_is_taxed_like_the_order(connect, shop):
    # The Admin API may leave out a line item's ``price`` (e.g. a restricted field set);
    # its ``totalPrice`` is then gross in a gross order, not net.
    order = next(o for o in shop.entities["order"].values() if o["orderNumber"] == "10000")
    del order["lineItems"][0]["price"]
    store = Store()
    store.sync(connect(), "orders")
    (line,) = orders_by_number(store)["10000"].lines
    assert (line.net_amount, line.gross_amount) == (Decimal("200.00"), Decimal("238.00"))
    net_order = next(o for o in shop.entities["order"].values() if o["orderNumber"] == "10001")
    del net_order["lineItems"][0]["price"]
    net_order["taxStatus"] = net_order["price"]["taxStatus"] = "net"
    net_order["lineItems"][0]["totalPrice"] = 100.0
    net_order["price"]["calculatedTaxes"] = [{"tax": 19.0, "taxRate": 19.0, "price": 100.0}]
    store.sync(connect(), "orders")
    (line,) = orders_by_number(store)["10001"].lines
    assert (line.net_amount, line.gross_amount) == (Decimal("100.00"), Decimal("119.00"))


# -- Shopware's own examples (tests/data/vendor/shopware/README.md) ------------------------


def test_vendor_order_without_line_price_and_customer_id(connect, shop):
    # Order 28118 of Shopware's demo shop: a 100.00 gross line at 23 % without a
    # ``price`` block, an ``orderCustomer`` without ``customerId``, no deliveries.
    shop.entities["order"].clear()
    shop.load_orders(vendor_example("order_route_response")["orders"]["elements"])
    store = Store()
    store.sync(connect(), "orders")
    (order,) = store.of(OrderRecord).values()
    assert (order.number, order.state, order.currency) == ("28118", "open", "EUR")
    assert order.ordered_at == datetime(2023, 12, 14, 12, 0, 18, 330000, tzinfo=UTC)
    assert (order.net_total, order.gross_total) == (Decimal("81.30"), Decimal("100.00"))
    (line,) = order.lines
    assert (line.sku, line.product_name, line.quantity) == ("SW20009", "Frontends Ticket", 1)
    assert (line.net_amount, line.gross_amount) == (Decimal("81.30"), Decimal("100.00"))
    assert order.customer_external_id == "guest:m.danilowicz@shopware.com"
    buyer = store.of(CustomerRecord)["guest:m.danilowicz@shopware.com"]
    assert (buyer.first_name, buyer.last_name, buyer.number) == ("54maciej", "maciej9", "10014")


def test_vendor_promotion_is_no_line_and_leaves_the_merchandise_as_sold(connect, shop):
    # Shopware's demo cart: "Smoking Board Cedar Wood" 17.90 gross (7 %) with the
    # automatic promotion "Your lucky day!" (-1.79 gross, -0.12 tax), ordered.
    shop.entities["order"].clear()
    anna = next(iter(shop.entities["customer"].values()))
    shop.order_from_cart(vendor_example("cart_with_promotion"), anna, created=T0, number="P-1")
    store = Store()
    store.sync(connect(), "orders")
    order = orders_by_number(store)["P-1"]
    (line,) = order.lines
    assert (line.sku, line.product_name) == ("943280", "Smoking Board Cedar Wood")
    assert (line.net_amount, line.gross_amount) == (Decimal("16.73"), Decimal("17.90"))
    # Revenue is the merchandise before the order-level voucher, as for JTL-Wawi, CSV and
    # WooCommerce (docs/revenue.md): the order's lines add up to its net total.
    assert order.net_total == sum(li.net_amount for li in order.lines) == Decimal("16.73")
    assert order.gross_total == Decimal("16.11")  # what the customer pays

"""The WooCommerce connector against a fake REST API v3 on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest

from tests.fakes.server import Store
from tests.fakes.woocommerce import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    FakeWooCommerce,
    vendor_example,
)
from wawi_connectors import (
    AuthenticationError,
    ConfigurationError,
    CustomerRecord,
    OrderRecord,
    ReadContext,
    TransientError,
    get_connector_class,
)
from wawi_connectors.woocommerce import WooCommerceConnector

T0 = datetime(2024, 5, 1, 10, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
ORDERS = "/wp-json/wc/v3/orders"
PRODUCTS = "/wp-json/wc/v3/products"


@pytest.fixture
def shop() -> FakeWooCommerce:
    shop = FakeWooCommerce()
    drill = shop.add_product("Akku-Bohrer", "B-1", ["Werkzeug", "Sale"])
    glue = shop.add_product("Holzleim", "L-1", ["Kleber"])
    anna = shop.add_customer("anna@example.com", "Anna", "Alt", created=T0)
    bernd = shop.add_customer("bernd@example.com", "Bernd", "Bau", created=T0, role="wholesale")
    max_billing = shop.guest_billing("Max@Example.com", "Max", "Muster")
    day1 = T0 + DAY
    shop.add_order(anna, created=day1, status="completed", lines=[(drill, 2, "200.00")])
    shop.add_order(bernd, created=day1 + HOUR, status="on-hold", lines=[(glue, 3, "30.00")])
    shop.add_order(None, created=day1 + 2 * HOUR, billing=max_billing, lines=[(drill, 1, "100")])
    shop.add_order(
        None,
        created=day1 + 3 * HOUR,
        billing=shop.guest_billing("max@example.com", "Max", "Muster"),
        status="cancelled",
        lines=[(glue, 1, "10.00")],
    )
    shop.add_order(
        anna,
        created=day1 + 4 * HOUR,
        status="completed",
        lines=[(drill, 1, "100.00"), (None, 1, "10.00")],
        refunds=("13.09",),
    )
    shop.add_order(anna, created=day1 + 5 * HOUR, status="refunded", lines=[(glue, 1, "10.00")])
    shop.add_order(bernd, created=day1 + 6 * HOUR, status="failed", lines=[(glue, 1, "10.00")])
    shop.add_order(bernd, created=day1 + 7 * HOUR, status="pending", lines=[(glue, 1, "10.00")])
    shop.add_order(bernd, created=day1 + 8 * HOUR, status="checkout-draft", lines=[])
    return shop


@pytest.fixture
def server(shop):
    with shop.server() as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def connect(server, sleeps):
    connectors = []

    def connect(**settings) -> WooCommerceConnector:
        values = {
            "base_url": server.url,
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET,
            "page_size": 2,
            "connect_timeout": 0.5,
            "read_timeout": 0.5,
            "max_retries": 2,
            **settings,
        }
        connector = WooCommerceConnector(values, sleep=sleeps.append)
        connectors.append(connector)
        return connector

    yield connect
    for connector in connectors:
        connector.close()


def orders_read(batches) -> list[str]:
    return [r.external_id for b in batches for r in b.records if isinstance(r, OrderRecord)]


def test_registered_with_a_secret_consumer_secret():
    assert get_connector_class("woocommerce") is WooCommerceConnector
    assert WooCommerceConnector.secret_fields() == {"consumer_secret"}


def test_plain_http_to_a_real_host_is_refused():
    with pytest.raises(ConfigurationError, match="HTTPS"):
        WooCommerceConnector(
            {"base_url": "http://shop.example.com", "consumer_key": "k", "consumer_secret": "s"}
        )


def test_connection_test_counts_orders(connect):
    assert connect().test_connection() == "Connected to WooCommerce: 9 orders."


def test_full_read_maps_orders_lines_and_amounts(connect, shop):
    store = Store()
    store.sync(connect(shop_name="Werkstatt-Shop"), "orders")
    orders = store.of(OrderRecord)
    assert len(orders) == 8  # the checkout draft is a cart, not an order
    first = orders[str(min(shop.orders))]
    anna = next(c for c in shop.customers.values() if c["first_name"] == "Anna")
    assert first.customer_external_id == str(anna["id"])
    assert (first.ordered_at, first.updated_at) == (T0 + DAY, T0 + DAY)
    assert (first.currency, first.company, first.state) == ("EUR", "Werkstatt-Shop", "completed")
    # Net merchandise: line totals without tax and shipping; gross is what was charged.
    assert first.net_total == Decimal("200.00")
    assert first.gross_total == Decimal("243.83")  # 200 + 4.90 shipping + 19 % tax
    (line,) = first.lines
    assert (line.sku, line.product_name, line.quantity) == ("B-1", "Akku-Bohrer", Decimal(2))
    assert (line.net_amount, line.gross_amount) == (Decimal("200.00"), Decimal("238.00"))
    assert line.product_group == "Werkzeug"  # the first category


def test_order_states(connect):
    store = Store()
    store.sync(connect(), "orders")
    states = [order.state for order in store.of(OrderRecord).values()]
    assert states == [
        "completed",
        "open",  # on-hold
        "open",  # processing
        "cancelled",
        "completed",  # partly refunded
        "returned",  # refunded
        "cancelled",  # failed
        "open",  # pending
    ]


def test_an_amount_refunded_without_lines_comes_off_the_goods(connect, shop):
    store = Store()
    store.sync(connect(), "orders")
    refunded = next(o for o in store.of(OrderRecord).values() if len(o.lines) == 2)
    # 110.00 net + 4.90 shipping + 21.83 tax = 136.73 charged; 13.09 refunded without
    # naming a line is 10 % of the goods' 130.90 gross: each line keeps 90 %.
    assert refunded.gross_total == Decimal("123.64")
    assert [line.net_amount for line in refunded.lines] == [Decimal("90.00"), Decimal("9.00")]
    assert [line.gross_amount for line in refunded.lines] == [Decimal("107.10"), Decimal("10.71")]
    assert refunded.net_total == Decimal("99.00")
    assert refunded.state == "completed"
    assert refunded.lines[1].product_group is None  # the product was deleted


def _drill_order(shop, **refund):
    anna = next(c for c in shop.customers.values() if c["first_name"] == "Anna")
    drill = next(p for p in shop.products.values() if p["sku"] == "B-1")
    glue = next(p for p in shop.products.values() if p["sku"] == "L-1")
    order = shop.add_order(
        anna, created=T0 + 3 * DAY, lines=[(drill, 2, "200.00"), (glue, 3, "30.00")]
    )
    fee = shop.add_fee(order, "Nachnahme", "5.00")
    if "fees" in refund:
        refund["fees"] = {fee["id"]: refund["fees"]}
    if refund:
        shop.refund(order, T0 + 4 * DAY, **refund)
    return order


def _synced(connect, order) -> OrderRecord:
    store = Store()
    store.sync(connect(), "orders")
    return store.of(OrderRecord)[str(order["id"])]


def test_refunded_shipping_and_fees_leave_the_goods_revenue_alone(connect, shop):
    order = _drill_order(shop, shipping="4.90", fees="5.00")
    synced = _synced(connect, order)
    assert [line.net_amount for line in synced.lines] == [Decimal("200.00"), Decimal("30.00")]
    assert synced.net_total == Decimal("230.00")
    # 230 + 4.90 + 5 net, 19 % tax: 285.48 charged, 11.66 (shipping and fee) back
    assert synced.gross_total == Decimal("285.48") - Decimal("5.83") - Decimal("5.95")


def test_a_refunded_line_comes_off_that_line_only(connect, shop):
    first, second = (0, 1)
    order = _drill_order(shop)
    drill, glue = order["line_items"]
    shop.refund(order, T0 + 4 * DAY, lines={glue["id"]: (1, "10.00")})
    synced = _synced(connect, order)
    assert synced.lines[first].net_amount == Decimal("200.00")
    assert (synced.lines[second].net_amount, synced.lines[second].quantity) == (
        Decimal("20.00"),
        Decimal(2),
    )
    assert synced.lines[second].gross_amount == Decimal("23.80")
    assert synced.net_total == Decimal("220.00")

    shop.refund(order, T0 + 5 * DAY, lines={glue["id"]: (2, "20.00")})
    synced = _synced(connect, order)
    # the glue wholly refunded: a returned line that keeps what was sold, out of the total
    assert (synced.lines[second].state, synced.lines[second].net_amount) == (
        "returned",
        Decimal("30.00"),
    )
    assert synced.lines[first].state is None
    assert (synced.net_total, synced.state) == (Decimal("200.00"), "open")


def test_an_amount_beyond_the_goods_is_shipping_and_fees(connect, shop):
    order = _drill_order(shop)
    shop.modify(order, T0 + 4 * DAY, status="refunded")
    shop.refund(order, T0 + 4 * DAY, amount=order["total"])
    synced = _synced(connect, order)
    assert [line.state for line in synced.lines] == ["returned", "returned"]
    # wholly refunded: the order is returned and keeps the sum of its lines
    assert (synced.state, synced.net_total, synced.gross_total) == (
        "returned",
        Decimal("230.00"),
        Decimal("0.00"),
    )


def test_documented_refunds_come_off_their_lines(connect, shop):
    # WooCommerce's "List all refunds" example for order 723 ("List all orders"):
    # refund 724 gives back line 311 (Woo Album #2, 9.00), refund 726 10.00 without
    # naming a line. Order 723: Woo Album #2 9.00, Woo Ninja 20.00, shipping 10.00.
    shop.orders.clear()
    shop.load(orders=vendor_example("orders_list"))
    shop.load_refunds(723, vendor_example("order_723_refunds"))
    store = Store()
    store.sync(connect(), "orders")
    order = store.of(OrderRecord)["723"]
    album, ninja = order.lines
    assert (album.product_name, album.state, album.net_amount) == (
        "Woo Album #2",
        "returned",
        Decimal("9.00"),
    )
    assert (ninja.product_name, ninja.state, ninja.net_amount) == (
        "Woo Ninja",
        None,
        Decimal("10.00"),
    )
    assert (order.net_total, order.gross_total) == (Decimal("10.00"), Decimal("20.00"))
    # refunds are asked for the order that has some, once; never for order 727
    assert [c.path for c in shop.injector.calls if "/refunds" in c.path] == [
        "/wp-json/wc/v3/orders/723/refunds"
    ]


def test_refunds_are_asked_only_for_orders_that_have_some(connect, shop):
    connector = connect()
    store = Store()
    store.sync(connector, "orders")
    refunded = [o for o, row in shop.orders.items() if row["refunds"]]
    asked = [c.path for c in shop.injector.calls if c.path.endswith("/refunds")]
    assert asked == [f"{ORDERS}/{o}/refunds" for o in refunded] and len(refunded) == 1

    # a refund changes the order: the next run reads it and its refunds again
    order = shop.orders[min(shop.orders)]
    shop.refund(order, T0 + 6 * DAY, lines={order["line_items"][0]["id"]: (1, "100.00")})
    before = len(shop.injector.calls)
    (batch,) = store.sync(connector, "orders")
    paths = [c.path for c in shop.injector.calls[before:]]
    assert paths == [ORDERS, f"{ORDERS}/{order['id']}/refunds"]
    assert store.of(OrderRecord)[str(order["id"])].net_total == Decimal("100.00")


def test_guest_orders_become_one_customer_per_email(connect):
    store = Store()
    batches = store.sync(connect(), "orders")
    guests = [r for r in store.of(CustomerRecord).values() if r.external_id.startswith("guest:")]
    assert [g.external_id for g in guests] == ["guest:max@example.com"]
    assert (guests[0].first_name, guests[0].city, guests[0].country) == ("Max", "Hamburg", "DE")
    guest_orders = [
        o for o in store.of(OrderRecord).values() if o.customer_external_id == guests[0].external_id
    ]
    assert len(guest_orders) == 2
    for batch in batches:  # a guest always arrives before its orders
        kinds = [type(r).__name__ for r in batch.records]
        assert kinds == sorted(kinds)


def test_categories_are_fetched_once_per_product_batch(connect, shop):
    connector = connect()
    store = Store()
    store.sync(connector, "orders")
    assert len(store.batches) > 1
    assert shop.count(PRODUCTS) == 1  # drill and glue, then cached for the later pages

    screws = [shop.add_product(f"Schraube {n}", f"S-{n}", ["Schrauben"]) for n in range(105)]
    drill = next(p for p in shop.products.values() if p["sku"] == "B-1")
    lines = [(screw, 1, "1.00") for screw in screws] + [(drill, 1, "100.00")]
    shop.add_order(None, created=T0 + 3 * DAY, lines=lines)
    (batch,) = store.sync(connector, "orders")
    asked = [c.query["include"][0].split(",") for c in shop.injector.calls if c.path == PRODUCTS]
    assert [len(ids) for ids in asked] == [2, 100, 5]
    (order,) = [r for r in batch.records if isinstance(r, OrderRecord)]
    assert {line.product_group for line in order.lines} == {"Schrauben", "Werkzeug"}


def test_incremental_read_gets_the_changed_and_the_new_order_only(connect, shop):
    connector = connect()
    store = Store()
    store.sync(connector, "orders")
    assert store.sync(connector, "orders") == []

    pending = max(o for o, row in shop.orders.items() if row["status"] == "pending")
    shop.modify(shop.orders[pending], T0 + 5 * DAY, status="completed")
    anna = next(c for c in shop.customers.values() if c["first_name"] == "Anna")
    drill = next(iter(shop.products.values()))
    new = shop.add_order(anna, created=T0 + 6 * DAY, lines=[(drill, 1, "100.00")])

    batches = store.sync(connector, "orders")
    assert sorted(orders_read(batches)) == sorted([str(pending), str(new["id"])])
    assert store.of(OrderRecord)[str(pending)].state == "completed"
    assert json.loads(store.cursor)["at"] == (T0 + 6 * DAY).isoformat()
    assert store.sync(connector, "orders") == []


def test_orders_changed_in_the_same_second_are_read_once(connect, shop):
    glue = next(p for p in shop.products.values() if p["sku"] == "L-1")
    for _ in range(5):
        shop.add_order(None, created=T0 + 9 * DAY, lines=[(glue, 1, "10.00")])
    connector = connect()
    store = Store()
    read = orders_read(store.sync(connector, "orders"))
    assert len(read) == len(set(read)) == 13
    assert store.sync(connector, "orders") == []


def test_a_fault_mid_paging_fails_the_run_and_the_next_run_resumes(connect, shop, sleeps):
    store = Store()
    reading = connect().read("orders", ReadContext())
    store.commit(next(reading))
    store.commit(next(reading))
    committed = set(store.of(OrderRecord))
    shop.faults.add("status", status=500, times=3, path=ORDERS)
    with pytest.raises(TransientError, match=r"HTTP 500 on GET /wp-json/wc/v3/orders; gave up"):
        next(reading)
    assert len(sleeps) == 2

    again = orders_read(store.sync(connect(), "orders"))
    assert not committed & set(again)
    wanted = {str(i) for i, row in shop.orders.items() if row["status"] != "checkout-draft"}
    assert set(store.of(OrderRecord)) == wanted


def test_429_waits_until_the_retry_after_date(connect, shop, sleeps):
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    shop.faults.add("status", status=429, retry_after=later, path=ORDERS)
    store = Store()
    store.sync(connect(), "orders")
    assert len(sleeps) == 1 and 15 <= sleeps[0] <= 20
    assert len(store.of(OrderRecord)) == 8


def test_broken_json_and_timeouts_are_retried(connect, shop, sleeps):
    shop.faults.add("broken_json", path=ORDERS)
    shop.faults.add("timeout", seconds=1.0, path=PRODUCTS)
    store = Store()
    store.sync(connect(), "orders")
    assert len(sleeps) == 2
    assert len(store.of(OrderRecord)) == 8


@pytest.mark.parametrize(
    ("key", "secret", "message"),
    [
        (CONSUMER_KEY, "cs_wrong", "Consumer secret is invalid."),
        ("ck_unknown", CONSUMER_SECRET, "Sorry, you cannot list resources."),
    ],
)
def test_wrong_credentials_fail_at_once(connect, shop, key, secret, message):
    with pytest.raises(AuthenticationError, match=f"authentication failed: .*{message}"):
        connect(consumer_key=key, consumer_secret=secret).test_connection()
    assert shop.count() == 1


def test_keys_in_the_query_string_work_and_stay_out_of_messages(connect, shop):
    connector = connect(auth_in_query=True)
    assert connector.test_connection() == "Connected to WooCommerce: 9 orders."
    assert shop.injector.calls[-1].query["consumer_secret"] == [CONSUMER_SECRET]
    shop.faults.add("status", status=503, times=3, path=ORDERS)
    with pytest.raises(TransientError) as caught:
        connector.test_connection()
    assert CONSUMER_SECRET not in str(caught.value)


def test_customers_full_then_incremental(connect, shop):
    connector = connect()
    store = Store()
    batches = store.sync(connector, "customers")
    customers = {c.email: c for c in store.of(CustomerRecord).values()}
    assert set(customers) == {"anna@example.com", "bernd@example.com"}  # all roles
    assert customers["bernd@example.com"].customer_group == "wholesale"
    assert (customers["anna@example.com"].first_name, customers["anna@example.com"].city) == (
        "Anna",
        "Hamburg",
    )
    assert batches[-1].records == [] and json.loads(batches[-1].cursor)["at"] == T0.isoformat()
    assert store.sync(connector, "customers") == []

    anna = next(c for c in shop.customers.values() if c["first_name"] == "Anna")
    shop.modify(anna, T0 + 2 * DAY, last_name="Neu")
    changed = [r for b in store.sync(connector, "customers") for r in b.records]
    assert [(c.email, c.last_name) for c in changed] == [("anna@example.com", "Neu")]


def test_an_unreadable_cursor_is_a_configuration_error(connect):
    with pytest.raises(ConfigurationError, match="cursor"):
        list(connect().read("orders", ReadContext(cursor="{not json")))


def test_customer_cursor_stays_behind_the_time_the_listing_began(connect, shop):
    # A change stamped after the listing began may have raced the listing: read it again.
    anna = next(c for c in shop.customers.values() if c["first_name"] == "Anna")
    shop.modify(anna, datetime.now(UTC) + HOUR)
    connector = connect()
    store = Store()
    store.sync(connector, "customers")
    cursor_at = datetime.fromisoformat(json.loads(store.cursor)["at"])
    assert abs(cursor_at - datetime.now(UTC)) < timedelta(minutes=1)
    again = [r.email for b in store.sync(connector, "customers") for r in b.records]
    assert again == ["anna@example.com"]


def test_documented_variation_line_names_the_parent_product_decoded(connect, shop):
    # WooCommerce's "List all orders" example: a variation line of product 22 named
    # "Ship Your Idea &ndash; Color: Black, Size: M Test". The "List all products"
    # example's variable product "Ship Your Idea" is served as that parent (id 22).
    shop.orders.clear()
    parent, simple = vendor_example("products_list")
    shop.load(orders=vendor_example("orders_list"), products=[{**parent, "id": 22}, simple])
    store = Store()
    store.sync(connect(), "orders")
    guest_order = store.of(OrderRecord)["727"]
    single, variation = guest_order.lines
    assert (single.product_name, single.sku, single.product_group) == ("Woo Single #1", None, None)
    assert (variation.product_name, variation.sku) == ("Ship Your Idea", "Bar3")
    assert variation.product_group == "Clothing"
    # Without the parent in the shop the line's own name is kept, its entities decoded.
    shop.products.pop(22)
    store = Store()
    store.sync(connect(), "orders")
    (_, variation) = store.of(OrderRecord)["727"].lines
    assert variation.product_name == "Ship Your Idea \u2013 Color: Black, Size: M Test"


def test_a_coupon_leaves_the_merchandise_as_sold(connect, shop):
    # WooCommerce spreads a coupon over the line items: ``subtotal`` is the line
    # "before discounts", ``total`` "after discounts" (_orders.md, "Line items
    # properties"). The documented order 727 is served with a 10 % coupon on its first
    # line, as WooCommerce books it; revenue is the merchandise before order-level
    # vouchers, as for Shopware, JTL-Wawi and CSV (docs/revenue.md).
    shop.orders.clear()
    order = next(o for o in vendor_example("orders_list") if o["id"] == 727)
    single = order["line_items"][0]
    single.update(total="5.40", total_tax="0.41")
    order["coupon_lines"] = [
        {"id": 1, "code": "zehn", "discount": "0.60", "discount_tax": "0.04", "meta_data": []}
    ]
    order.update(discount_total="0.60", discount_tax="0.04", total="28.71")
    shop.load(orders=[order])
    store = Store()
    store.sync(connect(), "orders")
    read = store.of(OrderRecord)["727"]
    assert [(li.net_amount, li.gross_amount) for li in read.lines] == [
        (Decimal("6.00"), Decimal("6.45")),
        (Decimal("12.00"), Decimal("12.90")),
    ]
    assert read.net_total == Decimal("18.00")
    assert read.gross_total == Decimal("28.71")  # what the customer pays


def test_a_partly_refunded_line_with_a_coupon_keeps_its_share_before_the_coupon(connect, shop):
    # Refunds are amounts paid (after the coupon); revenue is before coupons. The glue
    # line sold for 30.00 with a 10 % coupon (paid 27.00); one of three refunded (9.00
    # paid) leaves two thirds of the line: 20.00 before the coupon.
    order = _drill_order(shop)
    _, glue = order["line_items"]
    glue.update(total="27.00", total_tax="5.13")
    shop.refund(order, T0 + 4 * DAY, lines={glue["id"]: (1, "9.00")})
    synced = _synced(connect, order)
    line = synced.lines[1]
    assert (line.net_amount, line.quantity, line.state) == (Decimal("20.00"), Decimal(2), None)
    assert line.gross_amount == Decimal("23.80")
    assert synced.net_total == Decimal("220.00")


def test_a_refunded_item_without_its_item_id_is_found_by_its_product(connect, shop):
    order = _drill_order(shop)
    _, glue = order["line_items"]
    refund = shop.refund(order, T0 + 4 * DAY, lines={glue["id"]: (3, "30.00")})
    refund["line_items"][0]["meta_data"] = []
    synced = _synced(connect, order)
    assert [line.state for line in synced.lines] == [None, "returned"]
    assert synced.net_total == Decimal("200.00")

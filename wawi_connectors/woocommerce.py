"""WooCommerce through its REST API v3 (kind ``woocommerce``).

Checked against WooCommerce's docs (woocommerce/woocommerce-rest-api-docs, wp-api-v3)
and source (woocommerce/woocommerce, includes/rest-api/Controllers/Version3):

- Authentication over HTTPS is HTTP Basic with consumer key and secret, or both as
  ``consumer_key``/``consumer_secret`` query parameters for servers that drop the
  Authorization header; plain HTTP needs OAuth 1.0a signatures (_authentication.md).
  A wrong secret answers 401 ``woocommerce_rest_authentication_error`` "Consumer secret
  is invalid."; an unknown key leaves the request anonymous, which answers 401
  ``woocommerce_rest_cannot_view``.
- Collections take ``page``, ``per_page`` (1–100), ``include`` (comma list),
  ``modified_after`` and ``dates_are_gmt`` (compare ``post_modified_gmt``),
  ``orderby`` one of date, id, include, title, slug, modified (ID is appended as tie
  breaker for date and modified), ``order`` asc/desc; answers carry ``X-WP-Total`` and
  ``X-WP-TotalPages`` (class-wc-rest-crud-controller.php). ``modified_after`` becomes a
  WP date query ``after``, which is exclusive, at second precision.
- ``/customers`` has no ``modified_after``: parameters are page, per_page, search,
  exclude, include, offset, order, orderby (id, include, name, registered_date), email
  and role (default ``customer``; ``all`` for every role) (_customers.md); customers
  carry ``date_modified_gmt``, ``billing`` and ``role``.
- Orders: ``status`` pending, processing, on-hold, completed, cancelled, refunded,
  failed (and trash) (_orders.md); ``customer_id`` is 0 for guests; line items carry
  ``product_id`` (the parent for variations), ``sku``, ``name``, ``quantity``,
  ``subtotal``/``subtotal_tax`` "before discounts" and ``total``/``total_tax`` "after
  discounts" (_orders.md, "Line items properties"), always without tax (maintainer
  answer in woocommerce/woocommerce#17276); WooCommerce spreads a coupon over the
  line items' ``total``s and lists it in ``coupon_lines``; ``refunds`` is a
  list of ``{id, reason, total}`` with ``total`` the negative refunded amount including
  tax (class-wc-rest-orders-v2-controller.php; #62846).
- Products carry ``name``, ``sku`` and ``categories: [{id, name, slug}]``; ``/products``
  lists parents, not variations (_product-variations.md). Names are HTML-escaped: the
  documented order example has a variation line "Ship Your Idea &ndash; Color: Black,
  Size: M Test" of product 22, variation 23 (_orders.md, "List all orders").

Decisions:
- Orders are read in keyset pages sorted by ``modified``: each request asks for
  ``modified_after`` one second before the newest change seen (the filter is exclusive)
  and skips the ids already seen at that second. Cursor: ``{"at", "ids"}`` JSON; a bare
  ISO timestamp is accepted as "everything since then".
- Net revenue is net merchandise: the sum of the line ``subtotal``s, before coupons
  (order-level vouchers, which JTL-Wawi, Shopware and CSV files book as positions of
  their own and leave out of revenue: docs/revenue.md), without tax, shipping and fees,
  less refunds; a line's gross is ``subtotal`` plus ``subtotal_tax``. A line without
  ``subtotal`` counts its ``total``. Refunds are read from ``/orders/<id>/refunds``
  (_order-refunds.md), one request per order whose ``refunds`` list is not empty – never
  for the others. A refund's ``line_items``, ``shipping_lines`` and ``fee_lines`` carry
  negative ``total``/``total_tax`` (and ``quantity`` for goods) and name the order's item
  in the meta ``_refunded_item_id`` (a goods item without it is matched by product and
  variation). Refunds are amounts paid, after coupons: they are worked out on the lines'
  ``total``s, and a partly refunded line keeps the same share of its ``subtotal`` as of
  its ``total`` (by quantity when the coupon made the line free). Refunded goods come
  off their own line; refunded shipping and fees change no line. What a refund's
  ``amount`` holds beyond its items (an amount typed without choosing lines, as in
  the docs' example refund 726) comes off the goods lines, spread by their gross still
  kept, at most all of it; only what is left after that is shipping or fees. A line
  refunded wholly is ``returned`` and keeps what was sold, like a returned position of
  a file; the order's net total is the sum of its live lines. An order whose lines are
  all returned is ``returned`` and keeps their sum.
- Guest orders (``customer_id`` 0) yield a customer ``guest:<lower-cased billing
  email>`` in the same batch, so the app can store the order's customer first; the app
  gives them to the registered customer with that email (records.GUEST_PREFIX).
- A line's product is its parent product (``product_id``): name, SKU (when the parent
  has one) and group (its first category) come from ``/products?include=…``, fetched in
  batches of 100 and cached per connector instance. A line whose product is gone keeps
  its own name and SKU. Names are HTML-decoded.
- Customers are listed by id (all roles) and filtered by ``date_modified_gmt`` on our
  side. A customer changed while the list is read could be passed over, so the cursor
  never moves beyond the server time (``Date`` header) at which the listing began.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from .base import (
    N_,
    Batch,
    ConfigurationError,
    Connector,
    Message,
    ReadContext,
    SettingField,
)
from .http import (
    HTTP_SETTINGS,
    HttpClient,
    HttpResponse,
    Sleep,
    Watermark,
    clean_text,
    keyset_pages,
    parse_utc,
    to_decimal,
)
from .records import (
    VOID_STATES,
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    OrderState,
    Record,
    guest_external_id,
)
from .registry import register

API = "wp-json/wc/v3/"
ORDER_STATES: dict[str, OrderState] = {
    "pending": "open",
    "processing": "open",
    "on-hold": "open",
    "completed": "completed",
    "cancelled": "cancelled",
    "failed": "cancelled",
    "refunded": "returned",
}
# Drafts of the block checkout are carts, not orders.
SKIPPED_STATUSES = frozenset({"checkout-draft", "auto-draft", "trash"})
PRODUCT_BATCH = 100
REFUND_PAGE = 100
REFUNDED_ITEM = "_refunded_item_id"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Product:
    """What a line takes from its (parent) product."""

    name: str | None
    sku: str | None
    group: str | None


@register
class WooCommerceConnector(Connector):
    kind = "woocommerce"
    label = N_("WooCommerce (REST API v3)")
    settings_schema = (
        SettingField(
            "base_url", N_("Shop URL"), "url", help=N_("https://… (keys only work over HTTPS)")
        ),
        SettingField(
            "consumer_key",
            N_("Consumer key"),
            help=N_("WooCommerce › Settings › Advanced › REST API; read access is enough."),
        ),
        SettingField("consumer_secret", N_("Consumer secret"), "password", secret=True),
        SettingField(
            "auth_in_query",
            N_("Send the keys as query parameters"),
            "bool",
            required=False,
            default=False,
            help=N_(
                'Only for servers that drop the Authorization header ("Consumer key is missing").'
            ),
        ),
        SettingField("shop_name", N_("Shop name stored on orders"), required=False, default=""),
        SettingField("page_size", N_("Records per request"), "int", required=False, default=100),
        *HTTP_SETTINGS,
    )

    def __init__(self, settings: Mapping[str, Any], *, sleep: Sleep = time.sleep):
        super().__init__(settings)
        base_url = self.settings["base_url"]
        parts = urlsplit(base_url or "")
        if parts.scheme != "https" and parts.hostname not in LOOPBACK_HOSTS:
            raise ConfigurationError(
                N_(
                    "WooCommerce accepts API keys only over HTTPS; plain HTTP would need "
                    "OAuth 1.0a signatures, which this connector does not send."
                )
            )
        self.page_size = int(self.settings["page_size"])
        if not 1 <= self.page_size <= 100:
            raise ConfigurationError(N_("WooCommerce: records per request must be 1 to 100"))
        key, secret = self.settings["consumer_key"], self.settings["consumer_secret"]
        in_query = str(self.settings["auth_in_query"]).lower() in ("true", "1", "yes", "on")
        self._auth_params = {"consumer_key": key, "consumer_secret": secret} if in_query else {}
        self.http = HttpClient.from_settings(
            self.settings,
            base_url=base_url,
            service="WooCommerce",
            sleep=sleep,
            auth=None if in_query else (key, secret),
        )
        self._products: dict[int, Product | None] = {}

    def close(self) -> None:
        self.http.close()

    def test_connection(self) -> str:
        response = self._get("orders", {"per_page": 1})
        return Message(
            N_("Connected to WooCommerce: %(count)s orders."),
            count=_count(response.headers.get("X-WP-Total")),
        )

    def read(self, stream: str, context: ReadContext) -> Iterator[Batch]:
        if stream == "orders":
            yield from self._read_orders(context.cursor)
        elif stream == "customers":
            yield from self._read_customers(context.cursor)
        else:
            raise ConfigurationError(N_("WooCommerce: unknown stream %(stream)r"), stream=stream)

    def _get(self, resource: str, params: Mapping[str, Any]) -> HttpResponse:
        response = self.http.request("GET", API + resource, params={**params, **self._auth_params})
        if not isinstance(response.data, list):
            raise ConfigurationError(
                N_(
                    "WooCommerce: %(path)s did not answer with a list; "
                    "is the URL the shop's address?"
                ),
                path=f"/{API}{resource}",
            )
        return response

    # -- orders -----------------------------------------------------------------------

    def _read_orders(self, cursor: str | None) -> Iterator[Batch]:
        mark = decode_cursor(cursor)
        for rows in keyset_pages(self._fetch_orders, _modified_key, mark):
            yield Batch("orders", self._order_records(rows), encode_cursor(mark))

    def _fetch_orders(self, mark: Watermark, page: int) -> tuple[list[dict[str, Any]], bool]:
        params: dict[str, Any] = {
            "per_page": self.page_size,
            "page": page,
            "orderby": "modified",
            "order": "asc",
            "dates_are_gmt": "true",
        }
        if mark.at is not None:
            since = mark.at - timedelta(seconds=1)
            params["modified_after"] = since.strftime("%Y-%m-%dT%H:%M:%S")
        response = self._get("orders", params)
        return response.data, _has_more(response, page, self.page_size)

    def _order_records(self, rows: list[dict[str, Any]]) -> list[Record]:
        products = self._products_for(rows)
        guests: dict[str, CustomerRecord] = {}
        orders: list[Record] = []
        for row in rows:
            if row.get("status") in SKIPPED_STATUSES:
                continue
            customer_ref = str(row.get("customer_id") or "")
            if customer_ref in ("", "0"):
                guest = _guest(row)
                guests[guest.external_id] = guest
                customer_ref = guest.external_id
            refunds = self._refunds_of(row) if row.get("refunds") else []
            orders.append(self._order(row, customer_ref, products, refunds))
        return [*guests.values(), *orders]

    def _refunds_of(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """The refunds of one order, all pages (one request for up to 100 refunds)."""
        refunds: list[dict[str, Any]] = []
        page = 1
        while True:
            response = self._get(
                f"orders/{int(row['id'])}/refunds", {"per_page": REFUND_PAGE, "page": page}
            )
            refunds.extend(response.data)
            if not _has_more(response, page, REFUND_PAGE):
                return refunds
            page += 1

    def _order(
        self,
        row: dict[str, Any],
        customer_ref: str,
        products: dict[int, Product | None],
        refunds: list[dict[str, Any]],
    ) -> OrderRecord:
        items = row.get("line_items") or []
        kept = _kept_after_refunds(items, refunds)
        lines = tuple(
            _line(number, item, products, kept[number - 1]) for number, item in enumerate(items, 1)
        )
        live = [line.net_amount for line in lines if line.state is None]
        state = ORDER_STATES.get(row.get("status") or "", "open")
        if lines and not live:  # every line refunded: the order keeps what was sold
            live = [line.net_amount for line in lines]
            state = state if state in VOID_STATES else "returned"
        gross = to_decimal(row.get("total"))
        refunded = sum(
            (abs(to_decimal(r.get("total"))) for r in row.get("refunds") or []), Decimal(0)
        )
        return OrderRecord(
            external_id=str(row["id"]),
            customer_external_id=customer_ref,
            ordered_at=parse_utc(row["date_created_gmt"]),
            net_total=sum(live, Decimal(0)).quantize(CENT),
            state=state,
            number=clean_text(row.get("number")),
            company=clean_text(self.settings["shop_name"]),
            currency=row.get("currency") or "EUR",
            gross_total=max(gross - refunded, Decimal(0)).quantize(CENT),
            updated_at=_modified_key(row)[0],
            lines=lines,
        )

    def _products_for(self, rows: list[dict[str, Any]]) -> dict[int, Product | None]:
        """Product id → the product (None if deleted), fetching unknown ones in batches."""
        wanted = sorted(
            {
                int(item["product_id"])
                for row in rows
                for item in row.get("line_items") or []
                if item.get("product_id")
            }
            - self._products.keys()
        )
        for start in range(0, len(wanted), PRODUCT_BATCH):
            chunk = wanted[start : start + PRODUCT_BATCH]
            response = self._get(
                "products", {"include": ",".join(map(str, chunk)), "per_page": PRODUCT_BATCH}
            )
            found = {int(p["id"]): _product(p) for p in response.data}
            # Deleted products are remembered as None so they are not asked again.
            self._products.update({pid: found.get(pid) for pid in chunk})
        return self._products

    # -- customers --------------------------------------------------------------------

    def _read_customers(self, cursor: str | None) -> Iterator[Batch]:
        seen_before = decode_cursor(cursor)
        newest = Watermark(seen_before.at, set(seen_before.ids))
        listing_began: datetime | None = None
        page = 1
        while True:
            response = self._get(
                "customers",
                {
                    "per_page": self.page_size,
                    "page": page,
                    "orderby": "id",
                    "order": "asc",
                    "role": "all",
                },
            )
            listing_began = listing_began or _server_time(response)
            changed = [row for row in response.data if seen_before.is_new(*_modified_key(row))]
            for row in changed:
                newest.advance(*_modified_key(row))
            if changed:
                yield Batch("customers", [_customer(row) for row in changed], cursor)
            if not _has_more(response, page, self.page_size):
                break
            page += 1
        if listing_began is not None and newest.at is not None and newest.at >= listing_began:
            newest = Watermark(listing_began)
        if newest != seen_before:
            yield Batch("customers", [], encode_cursor(newest))


def decode_cursor(cursor: str | None) -> Watermark:
    """The watermark from a stored cursor; a bare ISO timestamp means "since then"."""
    try:
        if cursor and cursor.lstrip().startswith("{"):
            return Watermark.from_json(json.loads(cursor))
        return Watermark.from_json(cursor)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigurationError(
            N_("WooCommerce: the stored cursor %(cursor)r cannot be read; reset the sync"),
            cursor=cursor,
        ) from None


def encode_cursor(mark: Watermark) -> str:
    return json.dumps(mark.to_json(), sort_keys=True)


def _count(value: str | None) -> int | str:
    """A count header as a number, "?" when the server sent none."""
    return int(value) if value and value.isdigit() else "?"


def _has_more(response: HttpResponse, page: int, page_size: int) -> bool:
    total_pages = response.headers.get("X-WP-TotalPages")
    if total_pages and total_pages.isdigit():
        return page < int(total_pages)
    return len(response.data) == page_size


def _server_time(response: HttpResponse) -> datetime | None:
    try:
        return parsedate_to_datetime(response.headers["Date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return None


def _modified_key(row: dict[str, Any]) -> tuple[datetime, str]:
    return parse_utc(row.get("date_modified_gmt") or row["date_created_gmt"]), str(row["id"])


@dataclass(slots=True)
class Kept:
    """What a goods line keeps after refunds: net, tax and quantity."""

    net: Decimal
    tax: Decimal
    quantity: Decimal
    refunded: bool = False

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


def _kept_after_refunds(items: list[dict[str, Any]], refunds: list[dict[str, Any]]) -> list[Kept]:
    """Each goods line (in order) after the refunds, per the rules in the module doc."""
    kept = [
        Kept(
            to_decimal(item.get("total")),
            to_decimal(item.get("total_tax")),
            to_decimal(item.get("quantity") or 1),
        )
        for item in items
    ]
    index = {str(item.get("id")): n for n, item in enumerate(items)}
    unattributed = Decimal(0)
    for refund in refunds:
        itemised = Decimal(0)
        for part in ("line_items", "shipping_lines", "fee_lines"):
            for refunded in refund.get(part) or []:
                net, tax = (
                    -to_decimal(refunded.get("total")),
                    -to_decimal(refunded.get("total_tax")),
                )
                if part == "line_items":
                    n = _refunded_line(refunded, items, index)
                    if n is None:  # not a line of this order: treat it as an amount
                        continue
                    line = kept[n]
                    line.net -= net
                    line.tax -= tax
                    line.quantity -= abs(to_decimal(refunded.get("quantity")))
                    line.refunded = True
                itemised += net + tax
        unattributed += max(to_decimal(refund.get("amount")) - itemised, Decimal(0))
    _spread_over_goods(kept, unattributed)
    return kept


def _refunded_line(
    refunded: dict[str, Any], items: list[dict[str, Any]], index: dict[str, int]
) -> int | None:
    """The index of the order's line a refunded item refers to, or None."""
    for meta in refunded.get("meta_data") or []:
        if meta.get("key") == REFUNDED_ITEM and str(meta.get("value")) in index:
            return index[str(meta.get("value"))]
    same = (refunded.get("product_id"), refunded.get("variation_id") or 0)
    for n, item in enumerate(items):
        if (item.get("product_id"), item.get("variation_id") or 0) == same and same[0]:
            return n
    return None


def _spread_over_goods(kept: list[Kept], amount: Decimal) -> None:
    """Take a gross ``amount`` off the goods lines, by the gross each still keeps (at
    most all of it), each line's part split into net and tax at the line's own ratio."""
    lines = [line for line in kept if line.gross > 0]
    goods = sum((line.gross for line in lines), Decimal(0))
    take = min(amount, goods)
    if take <= 0:
        return
    left = take
    for number, line in enumerate(lines, 1):
        share = left if number == len(lines) else (take * line.gross / goods).quantize(CENT)
        left -= share
        net = (share * line.net / line.gross).quantize(CENT)
        line.net -= net
        line.tax -= share - net
        line.refunded = True


def _line(
    number: int, item: dict[str, Any], products: dict[int, Product | None], kept: Kept
) -> OrderLineRecord:
    paid_net, paid_tax = to_decimal(item.get("total")), to_decimal(item.get("total_tax"))
    # Before coupons (docs/revenue.md): ``subtotal`` is the line "before discounts".
    before_coupons = item.get("subtotal") not in (None, "")
    net = to_decimal(item.get("subtotal")) if before_coupons else paid_net
    tax = to_decimal(item.get("subtotal_tax")) if before_coupons else paid_tax
    quantity = to_decimal(item.get("quantity") or 1)
    returned = kept.refunded and kept.net <= 0
    if not returned and kept.refunded:  # partly refunded: the share the customer kept
        by_quantity = kept.quantity / quantity if quantity > 0 else Decimal(1)
        net *= kept.net / paid_net if paid_net > 0 else by_quantity
        tax *= kept.tax / paid_tax if paid_tax > 0 else by_quantity
        quantity = kept.quantity if kept.quantity > 0 else quantity
    gross = net + tax
    product = products.get(int(item.get("product_id") or 0)) or Product(None, None, None)
    return OrderLineRecord(
        line_no=number,
        net_amount=net.quantize(CENT),
        gross_amount=gross.quantize(CENT),
        quantity=quantity,
        sku=product.sku or clean_text(item.get("sku")),
        product_name=product.name or _decoded(item.get("name")),
        product_group=product.group,
        state="returned" if returned else None,
    )


def _guest(row: dict[str, Any]) -> CustomerRecord:
    billing = row.get("billing") or {}
    email = clean_text(billing.get("email"))
    return CustomerRecord(
        external_id=guest_external_id(email, row["id"]),
        first_name=clean_text(billing.get("first_name")),
        last_name=clean_text(billing.get("last_name")),
        company_name=clean_text(billing.get("company")),
        email=email,
        phone=clean_text(billing.get("phone")),
        city=clean_text(billing.get("city")),
        country=clean_text(billing.get("country")),
        updated_at=_modified_key(row)[0],
    )


def _customer(row: dict[str, Any]) -> CustomerRecord:
    billing = row.get("billing") or {}
    return CustomerRecord(
        external_id=str(row["id"]),
        first_name=clean_text(row.get("first_name")) or clean_text(billing.get("first_name")),
        last_name=clean_text(row.get("last_name")) or clean_text(billing.get("last_name")),
        company_name=clean_text(billing.get("company")),
        email=clean_text(row.get("email")) or clean_text(billing.get("email")),
        phone=clean_text(billing.get("phone")),
        city=clean_text(billing.get("city")),
        country=clean_text(billing.get("country")),
        customer_group=clean_text(row.get("role")),
        updated_at=_modified_key(row)[0],
    )


def _product(product: dict[str, Any]) -> Product:
    categories = product.get("categories") or []
    return Product(
        name=_decoded(product.get("name")),
        sku=clean_text(product.get("sku")),
        group=_decoded(categories[0].get("name")) if categories else None,
    )


def _decoded(name: Any) -> str | None:
    """WooCommerce's names are HTML-escaped ("&ndash;", "&amp;")."""
    return clean_text(html.unescape(name)) if isinstance(name, str) else clean_text(name)

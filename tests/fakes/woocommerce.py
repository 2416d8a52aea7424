"""A fake WooCommerce REST API v3: ``/orders``, ``/customers`` and ``/products``.

It speaks like WooCommerce: key authentication by HTTP Basic or query parameters (with
WooCommerce's 401 answers), money as strings, ``date_*`` in the site's time zone
(fixed at UTC+1 here) and ``date_*_gmt`` in GMT, ``per_page`` 1–100, ``orderby``
validation, ``modified_after``/``after`` as exclusive bounds at second precision that
compare GMT only with ``dates_are_gmt=true``, ID as tie breaker, and ``X-WP-Total`` /
``X-WP-TotalPages`` headers.
"""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request

from .server import FakeServer, FaultInjector

CONSUMER_KEY = "ck_fake"
CONSUMER_SECRET = "cs_fake"
SITE_OFFSET = timedelta(hours=1)
ORDERBY = {"date", "id", "include", "title", "slug", "modified"}
TAX = Decimal("0.19")
VENDOR_EXAMPLES = Path(__file__).parents[1] / "data" / "vendor" / "woocommerce"


def vendor_example(name: str) -> list[dict[str, Any]]:
    """One of WooCommerce's documented example answers (see the folder's README)."""
    return json.loads((VENDOR_EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def _gmt(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _local(at: datetime) -> str:
    return (at.astimezone(UTC) + SITE_OFFSET).strftime("%Y-%m-%dT%H:%M:%S")


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _wc_error(status: int, code: str, message: str, **data: Any):
    return jsonify(code=code, message=message, data={"status": status, **data}), status


class FakeWooCommerce:
    def __init__(self, key: str = CONSUMER_KEY, secret: str = CONSUMER_SECRET):
        self.key = key
        self.secret = secret
        self.orders: dict[int, dict[str, Any]] = {}
        self.customers: dict[int, dict[str, Any]] = {}
        self.products: dict[int, dict[str, Any]] = {}
        self._ids = itertools.count(100)
        self.injector = FaultInjector(self._flask())
        self.faults = self.injector.faults

    def server(self) -> FakeServer:
        return FakeServer(self.injector)

    def count(self, path_prefix: str = "/") -> int:
        return self.injector.count(path_prefix)

    # -- the dataset ------------------------------------------------------------------

    def add_product(self, name: str, sku: str, categories: list[str]) -> dict[str, Any]:
        product_id = next(self._ids)
        product = {
            "id": product_id,
            "name": name,
            "sku": sku,
            "status": "publish",
            "categories": [
                {"id": 10 + n, "name": c, "slug": c.lower()} for n, c in enumerate(categories)
            ],
        }
        self.products[product_id] = product
        return product

    def add_customer(
        self, email: str, first_name: str, last_name: str, *, created: datetime, role="customer"
    ) -> dict[str, Any]:
        customer_id = next(self._ids)
        customer = {
            "id": customer_id,
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "role": role,
            "username": email.split("@")[0],
            "billing": self._address(first_name, last_name, email),
            "shipping": self._address(first_name, last_name, None),
            "is_paying_customer": True,
            "meta_data": [],
        }
        self._stamp(customer, created, created)
        self.customers[customer_id] = customer
        return customer

    def add_order(
        self,
        customer: dict[str, Any] | None,
        *,
        created: datetime,
        lines: list[tuple[dict[str, Any] | None, int, str]],
        status: str = "processing",
        modified: datetime | None = None,
        billing: dict[str, Any] | None = None,
        shipping_net: str = "4.90",
        refunds: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Add an order; ``lines`` are (product or None if deleted, quantity, net line total)."""
        order_id = next(self._ids)
        items = []
        for product, quantity, net in lines:
            net_total = Decimal(net)
            items.append(
                {
                    "id": next(self._ids),
                    "name": product["name"] if product else "Deleted product",
                    "product_id": product["id"] if product else 0,
                    "variation_id": 0,
                    "quantity": quantity,
                    "tax_class": "",
                    "subtotal": _money(net_total),
                    "subtotal_tax": _money(net_total * TAX),
                    "total": _money(net_total),
                    "total_tax": _money(net_total * TAX),
                    "taxes": [],
                    "meta_data": [],
                    "sku": product["sku"] if product else "",
                    "price": float(net_total / quantity),
                }
            )
        items_net = sum(Decimal(i["total"]) for i in items)
        shipping = Decimal(shipping_net)
        total_tax = sum(Decimal(i["total_tax"]) for i in items) + (shipping * TAX).quantize(
            Decimal("0.01")
        )
        order = {
            "id": order_id,
            "parent_id": 0,
            "number": str(order_id),
            "order_key": f"wc_order_{order_id}",
            "created_via": "checkout",
            "status": status,
            "currency": "EUR",
            "prices_include_tax": False,
            "discount_total": "0.00",
            "shipping_total": _money(shipping),
            "shipping_tax": _money(shipping * TAX),
            "cart_tax": _money(total_tax - shipping * TAX),
            "total": _money(items_net + shipping + total_tax),
            "total_tax": _money(total_tax),
            "customer_id": customer["id"] if customer else 0,
            "billing": billing or (customer or {}).get("billing") or {},
            "shipping": {},
            "line_items": items,
            "shipping_lines": [{"method_id": "flat_rate", "total": _money(shipping)}],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": [
                {"id": next(self._ids), "reason": "", "total": f"-{amount}"} for amount in refunds
            ],
        }
        self._stamp(order, created, modified or created)
        self.orders[order_id] = order
        return order

    def load(self, **rows: list[dict[str, Any]]) -> None:
        """Serve payloads as given (``orders``, ``customers``, ``products``), e.g. examples."""
        for kind, payloads in rows.items():
            getattr(self, kind).update({row["id"]: row for row in payloads})

    def modify(self, record: dict[str, Any], at: datetime, **changes: Any) -> None:
        record.update(changes)
        record["date_modified"], record["date_modified_gmt"] = _local(at), _gmt(at)

    @staticmethod
    def guest_billing(email: str, first_name: str, last_name: str) -> dict[str, Any]:
        return FakeWooCommerce._address(first_name, last_name, email)

    @staticmethod
    def _address(first_name: str, last_name: str, email: str | None) -> dict[str, Any]:
        address = {
            "first_name": first_name,
            "last_name": last_name,
            "company": "",
            "address_1": "Hauptstr. 1",
            "address_2": "",
            "city": "Hamburg",
            "state": "",
            "postcode": "20095",
            "country": "DE",
            "phone": "040 123456",
        }
        if email is not None:
            address["email"] = email
        return address

    @staticmethod
    def _stamp(record: dict[str, Any], created: datetime, modified: datetime) -> None:
        record["date_created"], record["date_created_gmt"] = _local(created), _gmt(created)
        record["date_modified"], record["date_modified_gmt"] = _local(modified), _gmt(modified)

    # -- the HTTP API -----------------------------------------------------------------

    def _flask(self) -> Flask:
        app = Flask("fake_woocommerce")

        @app.before_request
        def authenticate():
            auth = request.authorization
            key, secret = (auth.username, auth.password) if auth else (None, None)
            if key is None:
                key = request.args.get("consumer_key")
                secret = request.args.get("consumer_secret")
            if key != self.key:
                # WooCommerce ignores unknown keys; the anonymous request is then refused.
                return _wc_error(
                    401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."
                )
            if secret != self.secret:
                return _wc_error(
                    401, "woocommerce_rest_authentication_error", "Consumer secret is invalid."
                )
            return None

        @app.get("/wp-json/wc/v3/orders")
        def orders():
            return self._collection(list(self.orders.values()), dated=True)

        @app.get("/wp-json/wc/v3/customers")
        def customers():
            role = request.args.get("role", "customer")
            rows = [c for c in self.customers.values() if role == "all" or c["role"] == role]
            return self._collection(rows, dated=False)

        @app.get("/wp-json/wc/v3/products")
        def products():
            include = {int(i) for i in request.args.get("include", "").split(",") if i}
            rows = [p for p in self.products.values() if not include or p["id"] in include]
            return self._collection(rows, dated=False)

        return app

    def _collection(self, rows: list[dict[str, Any]], *, dated: bool):
        args = request.args
        per_page = int(args.get("per_page", 10))
        if not 1 <= per_page <= 100:
            return _wc_error(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): per_page",
                params={"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"},
            )
        orderby = args.get("orderby", "date" if dated else "id")
        if dated and orderby not in ORDERBY:
            return _wc_error(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): orderby",
                params={"orderby": f"orderby is not one of {', '.join(sorted(ORDERBY))}."},
            )
        if dated:
            gmt = args.get("dates_are_gmt") in ("true", "1")
            suffix = "_gmt" if gmt else ""
            for param, column in (("modified_after", "date_modified"), ("after", "date_created")):
                if param in args:
                    bound = args[param][:19]
                    rows = [r for r in rows if r[column + suffix] > bound]
            rows = [r for r in rows if r.get("status") != "trash"]
        sort_column = {"date": "date_created_gmt", "modified": "date_modified_gmt"}.get(orderby)
        rows = sorted(rows, key=lambda r: (r[sort_column] if sort_column else "", r["id"]))
        if args.get("order", "desc" if dated else "asc") == "desc":
            rows.reverse()
        page = int(args.get("page", 1))
        selected = rows[(page - 1) * per_page : page * per_page]
        response = jsonify(selected)
        response.headers["X-WP-Total"] = str(len(rows))
        response.headers["X-WP-TotalPages"] = str(math.ceil(len(rows) / per_page))
        return response

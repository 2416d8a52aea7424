"""A fake WooCommerce REST API v3: ``/orders``, ``/orders/<id>/refunds``, ``/customers``
and ``/products``.

It speaks like WooCommerce: key authentication by HTTP Basic or query parameters (with
WooCommerce's 401 answers), money as strings, ``date_*`` in the site's time zone
(fixed at UTC+1 here) and ``date_*_gmt`` in GMT, ``per_page`` 1–100, ``orderby``
validation, ``modified_after``/``after`` as exclusive bounds at second precision that
compare GMT only with ``dates_are_gmt=true``, ID as tie breaker, and ``X-WP-Total`` /
``X-WP-TotalPages`` headers.

Refunds look like WooCommerce's (_order-refunds.md, "List all refunds"; shipping and fee
lines as WooCommerce's own test class-wc-rest-order-refunds-v2-controller-test.php shows
them): ``amount`` positive and including tax, refunded items with negative ``quantity``,
``total`` and ``total_tax`` and the meta ``_refunded_item_id`` naming the order's item;
the order lists each refund as ``{id, reason, total}`` with ``total`` negative.
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
        self.refunds: dict[int, list[dict[str, Any]]] = {}
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
        """Add an order; ``lines`` are (product or None if deleted, quantity, net line total);
        ``refunds`` are gross amounts refunded without naming lines."""
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
            "shipping_lines": [
                {
                    "id": next(self._ids),
                    "method_title": "Flat rate",
                    "method_id": "flat_rate",
                    "total": _money(shipping),
                    "total_tax": _money(shipping * TAX),
                    "taxes": [],
                    "meta_data": [],
                }
            ],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": [],
        }
        self._stamp(order, created, modified or created)
        self.orders[order_id] = order
        for amount in refunds:
            self.refund(order, created, amount=amount)
        self._stamp(order, created, modified or created)
        return order

    def refund(
        self,
        order: dict[str, Any],
        at: datetime,
        *,
        amount: str | None = None,
        lines: dict[int, tuple[int, str]] | None = None,
        shipping: str | None = None,
        fees: dict[int, str] | None = None,
        reason: str = "",
    ) -> dict[str, Any]:
        """Refund part of ``order`` at ``at``, as WooCommerce's refund form does.

        ``lines`` maps an order line item's id to (quantity, net amount) refunded,
        ``shipping`` is the net refunded on the first shipping line, ``fees`` maps a fee
        line's id to its refunded net; tax is refunded at the order's rate. ``amount`` is
        the gross total refunded; without it, the sum of the items refunded.
        """
        by_id = {item["id"]: item for item in order["line_items"]}
        items = [
            self._refunded_item(by_id[item_id], net, quantity=quantity)
            for item_id, (quantity, net) in (lines or {}).items()
        ]
        shipping_items = (
            [self._refunded_item(order["shipping_lines"][0], shipping)] if shipping else []
        )
        fee_items = [
            self._refunded_item(next(f for f in order["fee_lines"] if f["id"] == fee_id), net)
            for fee_id, net in (fees or {}).items()
        ]
        itemised = -sum(
            Decimal(i["total"]) + Decimal(i["total_tax"])
            for i in (*items, *shipping_items, *fee_items)
        )
        refund = {
            "id": next(self._ids),
            "date_created": _local(at),
            "date_created_gmt": _gmt(at),
            "amount": _money(Decimal(amount) if amount is not None else itemised),
            "reason": reason,
            "refunded_by": 1,
            "refunded_payment": False,
            "meta_data": [],
            "line_items": items,
            "shipping_lines": shipping_items,
            "fee_lines": fee_items,
        }
        self.refunds.setdefault(order["id"], []).insert(0, refund)
        order["refunds"].insert(
            0, {"id": refund["id"], "reason": reason, "total": f"-{refund['amount']}"}
        )
        self.modify(order, at)
        return refund

    def _refunded_item(
        self, item: dict[str, Any], net: str, *, quantity: int | None = None
    ) -> dict[str, Any]:
        refunded = {
            key: item[key]
            for key in ("name", "product_id", "variation_id", "method_id")
            if key in item
        }
        refunded.update(
            id=next(self._ids),
            total=_money(-Decimal(net)),
            total_tax=_money(-Decimal(net) * TAX),
            taxes=[],
            meta_data=[
                {"id": next(self._ids), "key": "_refunded_item_id", "value": str(item["id"])}
            ],
        )
        if quantity is not None:
            refunded["quantity"] = -quantity
        return refunded

    def add_fee(self, order: dict[str, Any], name: str, net: str) -> dict[str, Any]:
        """Add a fee line (a payment surcharge) to ``order``, with tax, to its total."""
        fee = {
            "id": next(self._ids),
            "name": name,
            "tax_class": "",
            "tax_status": "taxable",
            "total": _money(Decimal(net)),
            "total_tax": _money(Decimal(net) * TAX),
            "taxes": [],
            "meta_data": [],
        }
        order["fee_lines"].append(fee)
        order["total"] = _money(
            Decimal(order["total"]) + Decimal(fee["total"]) + Decimal(fee["total_tax"])
        )
        return fee

    def load(self, **rows: list[dict[str, Any]]) -> None:
        """Serve payloads as given (``orders``, ``customers``, ``products``), e.g. examples."""
        for kind, payloads in rows.items():
            getattr(self, kind).update({row["id"]: row for row in payloads})

    def load_refunds(self, order_id: int, refunds: list[dict[str, Any]]) -> None:
        """Serve ``refunds`` as given as the refunds of order ``order_id``."""
        self.refunds[order_id] = refunds

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

        @app.get("/wp-json/wc/v3/orders/<int:order_id>/refunds")
        def refunds(order_id: int):
            if order_id not in self.orders:
                return _wc_error(404, "woocommerce_rest_invalid_order_id", "Invalid order ID.")
            return self._collection(list(self.refunds.get(order_id, [])), dated=False)

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

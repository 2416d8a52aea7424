"""A fake Shopware 6 Admin API: OAuth client credentials and ``/api/search/{entity}``.

It keeps customers, orders and newsletter recipients in memory, shaped like Shopware's
``Accept: application/json`` answers, and evaluates the criteria our connector sends:
``equals``/``equalsAny``/``range``/``multi``/``not`` filters, sorting (nulls first when
ascending, like MySQL), ``page``/``limit``, ``total-count-mode`` and ``associations``
(an association that was not asked for comes back as null).
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request

from .server import FakeServer, FaultInjector

ASSOCIATIONS = {
    "customer": {"group", "salutation", "defaultBillingAddress", "defaultBillingAddress.country"},
    "order": {
        "orderCustomer",
        "currency",
        "salesChannel",
        "stateMachineState",
        "deliveries",
        "deliveries.stateMachineState",
        "transactions",
        "transactions.stateMachineState",
        "lineItems",
        "lineItems.product",
        "lineItems.product.categories",
    },
    "newsletter-recipient": set(),
}
TAX_RATE = Decimal(19)
CLIENT_ID = "SWIAFAKEKEY"
CLIENT_SECRET = "fake-secret"
VENDOR_EXAMPLES = Path(__file__).parents[1] / "data" / "vendor" / "shopware"


def vendor_example(name: str) -> dict[str, Any]:
    """One of Shopware's own example payloads (see the folder's README)."""
    return json.loads((VENDOR_EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def iso(at: datetime) -> str:
    """Shopware's JSON date format, e.g. 2024-05-01T10:00:00.000+00:00."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def _error(status: int, title: str, detail: str = "", code: str = "0"):
    body = {"errors": [{"code": code, "status": str(status), "title": title, "detail": detail}]}
    return jsonify(body), status


class FakeShopware:
    def __init__(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET):
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = 600
        self.tokens: dict[str, float] = {}
        self.entities: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in ASSOCIATIONS}
        self._ids = itertools.count(1)
        self.injector = FaultInjector(self._flask())
        self.faults = self.injector.faults

    def server(self) -> FakeServer:
        return FakeServer(self.injector)

    def count(self, path_prefix: str = "/") -> int:
        return self.injector.count(path_prefix)

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    # -- the dataset ------------------------------------------------------------------

    def new_id(self) -> str:
        return f"{next(self._ids):032x}"

    def add_customer(
        self,
        email: str,
        first_name: str,
        last_name: str,
        *,
        created: datetime,
        updated: datetime | None = None,
        number: str | None = None,
        company: str | None = None,
        group: str = "Standard customer group",
        city: str = "Berlin",
        country: str = "DE",
        phone: str = "030 123456",
        guest: bool = False,
        salutation: str | None = None,
    ) -> dict[str, Any]:
        """``salutation``: a salutationKey of a standard installation ("mr", "mrs",
        "not_specified"); None: the customer has none (older data)."""
        customer_id = self.new_id()
        customer = {
            "id": customer_id,
            "customerNumber": number or str(10000 + len(self.entities["customer"])),
            "firstName": first_name,
            "lastName": last_name,
            "company": company,
            "email": email,
            "guest": guest,
            "active": True,
            "createdAt": iso(created),
            "updatedAt": iso(updated) if updated else None,
            "group": {"name": group, "translated": {"name": group}, "apiAlias": "customer_group"},
            "salutation": _salutation(salutation) if salutation else None,
            "defaultBillingAddress": {
                "firstName": first_name,
                "lastName": last_name,
                "company": company,
                "city": city,
                "phoneNumber": phone,
                "country": {"iso": country, "name": country, "apiAlias": "country"},
                "apiAlias": "customer_address",
            },
            "apiAlias": "customer",
        }
        self.entities["customer"][customer_id] = customer
        return customer

    def add_newsletter_recipient(self, email: str, status: str) -> None:
        recipient_id = self.new_id()
        self.entities["newsletter-recipient"][recipient_id] = {
            "id": recipient_id,
            "email": email,
            "status": status,
            "createdAt": iso(datetime(2024, 1, 1, tzinfo=UTC)),
            "updatedAt": None,
            "apiAlias": "newsletter_recipient",
        }

    def add_order(
        self,
        customer: dict[str, Any] | None,
        *,
        created: datetime,
        lines: list[dict[str, Any]],
        updated: datetime | None = None,
        number: str | None = None,
        state: str = "open",
        delivery_state: str = "open",
        payment_state: str = "paid",
        shipping_gross: str = "5.95",
        buyer: dict[str, Any] | None = None,
        sales_channel: str = "Storefront",
        currency: str = "EUR",
    ) -> dict[str, Any]:
        """Add an order; ``lines`` are dicts with label, sku, quantity, unit_gross, product."""
        order_id = self.new_id()
        items = [self._line_item(position, line) for position, line in enumerate(lines, 1)]
        shipping = _calculated(Decimal(shipping_gross), 1)
        taxes = sum(Decimal(str(i["price"]["calculatedTaxes"][0]["tax"])) for i in items)
        taxes += Decimal(str(shipping["calculatedTaxes"][0]["tax"]))
        positions = sum(Decimal(str(i["totalPrice"])) for i in items)
        total = positions + Decimal(shipping_gross)
        buyer = buyer or {
            "customerId": customer["id"],
            "email": customer["email"],
            "firstName": customer["firstName"],
            "lastName": customer["lastName"],
            "company": customer["company"],
            "customerNumber": customer["customerNumber"],
        }
        order = {
            "id": order_id,
            "orderNumber": number or str(10000 + len(self.entities["order"])),
            "orderDateTime": iso(created),
            "createdAt": iso(created),
            "updatedAt": iso(updated) if updated else None,
            "amountTotal": float(total),
            "amountNet": float(total - taxes),
            "positionPrice": float(positions),
            "taxStatus": "gross",
            "shippingTotal": float(shipping_gross),
            "price": {
                "netPrice": float(total - taxes),
                "totalPrice": float(total),
                "positionPrice": float(positions),
                "rawTotal": float(total),
                "taxStatus": "gross",
                "calculatedTaxes": [
                    {"tax": float(taxes), "taxRate": 19.0, "price": float(total)},
                ],
                "taxRules": [{"taxRate": 19.0, "percentage": 100.0}],
                "apiAlias": "cart_price",
            },
            "shippingCosts": shipping,
            "stateMachineState": _state(state),
            "orderCustomer": {**buyer, "apiAlias": "order_customer"},
            "currency": {"isoCode": currency, "apiAlias": "currency"},
            "salesChannel": {
                "name": sales_channel,
                "translated": {"name": sales_channel},
                "apiAlias": "sales_channel",
            },
            "deliveries": [{"id": self.new_id(), "stateMachineState": _state(delivery_state)}],
            "transactions": [
                {
                    "id": self.new_id(),
                    "createdAt": iso(created),
                    "stateMachineState": _state(payment_state),
                }
            ],
            "lineItems": items,
            "apiAlias": "order",
        }
        self.entities["order"][order_id] = order
        return order

    def _line_item(self, position: int, line: dict[str, Any]) -> dict[str, Any]:
        quantity = int(line.get("quantity", 1))
        price = _calculated(Decimal(line["unit_gross"]), quantity)
        product = line.get("product")
        return {
            "id": self.new_id(),
            "type": line.get("type", "product"),
            "position": position,
            "label": line["label"],
            "quantity": quantity,
            "unitPrice": price["unitPrice"],
            "totalPrice": price["totalPrice"],
            "price": price,
            "productId": product["id"] if product else None,
            "payload": {
                "productNumber": line.get("sku"),
                "customFields": dict(product.get("customFields") or {}) if product else {},
            },
            "product": product,
            "apiAlias": "order_line_item",
        }

    def load_orders(self, orders: list[dict[str, Any]]) -> None:
        """Serve order entities as given, e.g. Shopware's own examples."""
        self.entities["order"].update({o["id"]: copy.deepcopy(o) for o in orders})

    def order_from_cart(
        self,
        cart: dict[str, Any],
        customer: dict[str, Any],
        *,
        created: datetime,
        number: str | None = None,
        state: str = "open",
    ) -> dict[str, Any]:
        """Order a cart the way Shopware does (OrderConverter::convertToOrder with
        CartTransformer and LineItemTransformer): the order keeps the cart's price and
        shipping costs, and every cart line item becomes an order line item."""
        price = copy.deepcopy(cart["price"])
        shipping = copy.deepcopy(cart["deliveries"][0]["shippingCosts"])
        order_id = self.new_id()
        items = []
        for position, item in enumerate(cart["lineItems"], 1):
            payload = copy.deepcopy(item.get("payload") or {})
            line = {
                "id": self.new_id(),
                "identifier": item["id"],
                "productId": item["referencedId"] if item["type"] == "product" else None,
                "promotionId": payload.get("promotionId") if item["type"] == "promotion" else None,
                "referencedId": item.get("referencedId"),
                "quantity": item["quantity"],
                "type": item["type"],
                "label": item["label"],
                "description": item.get("description"),
                "good": item.get("good"),
                "removable": item.get("removable"),
                "stackable": item.get("stackable"),
                "position": position,
                "price": copy.deepcopy(item["price"]),
                "priceDefinition": copy.deepcopy(item.get("priceDefinition")),
                "payload": payload,
                "states": list(item.get("states") or []),
                # OrderLineItemDefinition: unitPrice and totalPrice are stored from price.
                "unitPrice": item["price"]["unitPrice"],
                "totalPrice": item["price"]["totalPrice"],
                "orderId": order_id,
                "product": None,
                "apiAlias": "order_line_item",
            }
            items.append({k: v for k, v in line.items() if v is not None or k == "product"})
        order = {
            "id": order_id,
            "orderNumber": number or str(10000 + len(self.entities["order"])),
            "orderDateTime": iso(created),
            "createdAt": iso(created),
            "updatedAt": None,
            "price": price,
            "amountTotal": price["totalPrice"],
            "amountNet": price["netPrice"],
            "positionPrice": price["positionPrice"],
            "taxStatus": price["taxStatus"],
            "shippingCosts": shipping,
            "shippingTotal": shipping["totalPrice"],
            "stateMachineState": _state(state),
            "orderCustomer": {
                "customerId": customer["id"],
                "email": customer["email"],
                "firstName": customer["firstName"],
                "lastName": customer["lastName"],
                "company": customer["company"],
                "customerNumber": customer["customerNumber"],
                "apiAlias": "order_customer",
            },
            "currency": {"isoCode": "EUR", "apiAlias": "currency"},
            "salesChannel": None,
            "deliveries": [{"id": self.new_id(), "stateMachineState": _state("open")}],
            "transactions": [],
            "lineItems": items,
            "customerComment": cart.get("customerComment"),
            "affiliateCode": cart.get("affiliateCode"),
            "campaignCode": cart.get("campaignCode"),
            "apiAlias": "order",
        }
        self.entities["order"][order_id] = order
        return order

    def product(
        self, sku: str, categories: list[tuple[str, int]], custom_fields: dict | None = None
    ) -> dict[str, Any]:
        """A product as loaded through ``lineItems.product``; categories are (name, level)."""
        return {
            "id": self.new_id(),
            "productNumber": sku,
            "customFields": custom_fields or {},
            "categories": [
                {"id": self.new_id(), "name": n, "level": lvl, "translated": {"name": n}}
                for n, lvl in categories
            ],
            "apiAlias": "product",
        }

    def touch(self, entity: dict[str, Any], at: datetime, **changes: Any) -> None:
        """Change an entity the way Shopware does: set fields and ``updatedAt``."""
        entity.update(changes)
        entity["updatedAt"] = iso(at)

    # -- the HTTP API -----------------------------------------------------------------

    def _flask(self) -> Flask:
        app = Flask("fake_shopware")

        @app.post("/api/oauth/token")
        def token():
            body = request.get_json(silent=True) or {}
            if body.get("grant_type") != "client_credentials":
                return _error(
                    400,
                    "The authorization grant type is not supported by the authorization server.",
                    "Check that all required parameters have been provided",
                    code="2",
                )
            if (body.get("client_id"), body.get("client_secret")) != (
                self.client_id,
                self.client_secret,
            ):
                return _error(401, "Client authentication failed", code="4")
            access_token = secrets.token_hex(16)
            self.tokens[access_token] = time.monotonic() + self.token_lifetime
            return jsonify(
                token_type="Bearer", expires_in=self.token_lifetime, access_token=access_token
            )

        @app.post("/api/search/<entity>")
        def search(entity: str):
            auth = request.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ")
            if not auth.startswith("Bearer ") or self.tokens.get(token, 0) < time.monotonic():
                return _error(
                    401,
                    "The resource owner or authorization server denied the request.",
                    "Access token could not be verified.",
                    code="9",
                )
            if entity not in self.entities:
                return _error(404, "Not Found", f'Resource "{entity}" not found', "FRAMEWORK__")
            criteria = request.get_json(silent=True) or {}
            answer = self._search(entity, criteria)
            if "application/json" not in request.headers.get("Accept", ""):
                # Shopware's default is JSON:API, which our connector must not get.
                answer = {"data": [{"id": r["id"], "type": entity} for r in answer["data"]]}
            return jsonify(answer)

        return app

    def _search(self, entity: str, criteria: dict[str, Any]) -> dict[str, Any]:
        rows = [
            row
            for row in self.entities[entity].values()
            if all(_matches(row, f) for f in criteria.get("filter", []))
        ]
        for sorting in reversed(criteria.get("sort", [])):
            descending = sorting.get("order", "ASC").upper() == "DESC"
            rows.sort(key=lambda r, f=sorting["field"]: _sort_key(_value(r, f)), reverse=descending)
        limit = int(criteria.get("limit") or 500)
        page = int(criteria.get("page") or 1)
        selected = rows[(page - 1) * limit : page * limit]
        requested = _association_paths(criteria.get("associations", {}))
        data = [_prune(copy.deepcopy(r), "", ASSOCIATIONS[entity], requested) for r in selected]
        total = len(rows) if int(criteria.get("total-count-mode") or 0) == 1 else len(data)
        return {"total": total, "data": data, "aggregations": {}}


def _calculated(unit_gross: Decimal, quantity: int) -> dict[str, Any]:
    total = unit_gross * quantity
    tax = (total - total / (1 + TAX_RATE / 100)).quantize(Decimal("0.01"))
    return {
        "unitPrice": float(unit_gross),
        "quantity": quantity,
        "totalPrice": float(total),
        "calculatedTaxes": [{"tax": float(tax), "taxRate": 19.0, "price": float(total)}],
        "taxRules": [{"taxRate": 19.0, "percentage": 100.0}],
        "apiAlias": "calculated_price",
    }


_SALUTATION_NAMES = {"mr": "Mr.", "mrs": "Mrs.", "not_specified": "Not specified"}


def _salutation(key: str) -> dict[str, Any]:
    name = _SALUTATION_NAMES[key]
    return {
        "salutationKey": key,
        "displayName": name,
        "letterName": name,
        "translated": {"displayName": name, "letterName": name},
        "apiAlias": "salutation",
    }


def _state(technical_name: str) -> dict[str, Any]:
    return {
        "technicalName": technical_name,
        "name": technical_name.replace("_", " ").title(),
        "apiAlias": "state_machine_state",
    }


def _value(row: dict[str, Any], field: str) -> Any:
    value: Any = row
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _as_time(value: Any) -> datetime | None:
    if not (isinstance(value, str) and len(value) >= 10 and value[4] == "-"):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (0, "")
    return (1, _as_time(value) or value)


def _matches(row: dict[str, Any], f: dict[str, Any]) -> bool:
    kind = f["type"]
    if kind in ("multi", "not"):
        results = [_matches(row, q) for q in f["queries"]]
        combined = all(results) if f.get("operator", "and").lower() == "and" else any(results)
        return not combined if kind == "not" else combined
    value = _value(row, f["field"])
    if kind == "equals":
        return value == f["value"]
    if kind == "equalsAny":
        wanted = f["value"].split("|") if isinstance(f["value"], str) else f["value"]
        return str(value).lower() in {str(w).lower() for w in wanted}
    if kind == "range":
        if value is None:
            return False
        have = _as_time(value)
        checks = {"gte": "__ge__", "gt": "__gt__", "lte": "__le__", "lt": "__lt__"}
        return all(
            getattr(have, checks[op])(_as_time(limit)) for op, limit in f["parameters"].items()
        )
    raise ValueError(f"fake Shopware does not know filter {kind!r}")


def _association_paths(associations: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for name, sub in associations.items():
        paths.add(prefix + name)
        paths |= _association_paths((sub or {}).get("associations", {}), f"{prefix}{name}.")
    return paths


def _prune(node: Any, prefix: str, known: set[str], requested: set[str]) -> Any:
    if isinstance(node, list):
        return [_prune(item, prefix, known, requested) for item in node]
    if not isinstance(node, dict):
        return node
    for key in list(node):
        path = prefix + key
        if path in known and path not in requested:
            node[key] = None
        elif path in known:
            node[key] = _prune(node[key], path + ".", known, requested)
    return node

"""Canonical records every connector yields (PRODUCT.md D1).

Connectors translate their source's shape into these frozen dataclasses; the app
decides how to store them. Money is ``Decimal``, times are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

OrderState = Literal["open", "completed", "cancelled", "returned"]
ORDER_STATES: tuple[str, ...] = ("open", "completed", "cancelled", "returned")
VOID_STATES: tuple[str, ...] = ("cancelled", "returned")  # a line in these adds nothing
# A shop's guest (an order without a customer account) is the customer
# "guest:<lower-cased email>"; the app gives such orders to the source's registered
# customer with that email (recovery/sources/store.py).
GUEST_PREFIX = "guest:"


def guest_external_id(email: str | None, order_id: object) -> str:
    """The guest customer's external id: one per email, else one per order."""
    return f"{GUEST_PREFIX}{email.lower()}" if email else f"{GUEST_PREFIX}order:{order_id}"


def state_of_lines(states: Iterable[str]) -> OrderState:
    """An order's state from its lines' states: that of its live lines (open while one
    is open), else returned if a line was returned, else cancelled."""
    seen = set(states)
    for state in ("open", "completed", "returned", "cancelled"):
        if state in seen:
            return state  # type: ignore[return-value]
    return "completed"


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    external_id: str
    number: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    city: str | None = None
    country: str | None = None
    customer_group: str | None = None
    # The source's word ("Herr", "Frau", "Firma", "mrs"); the app makes it a code
    # (wawi_connectors.salutations). None: the source has none.
    salutation: str | None = None
    # None means the source does not say; True/False is the source's own consent flag.
    marketing_consent: bool | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProductRecord:
    sku: str
    name: str | None = None
    product_group: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderLineRecord:
    line_no: int
    net_amount: Decimal
    quantity: Decimal = Decimal("1")
    sku: str | None = None
    product_name: str | None = None
    product_group: str | None = None
    gross_amount: Decimal | None = None
    # The line's own state where the source has one per line (a cancelled position of
    # a completed order); None: the line shares the order's state.
    state: OrderState | None = None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    external_id: str
    customer_external_id: str
    ordered_at: datetime
    net_total: Decimal
    state: OrderState = "completed"
    number: str | None = None
    company: str | None = None
    currency: str = "EUR"
    gross_total: Decimal | None = None
    updated_at: datetime | None = None
    lines: tuple[OrderLineRecord, ...] = field(default_factory=tuple)


Record = CustomerRecord | ProductRecord | OrderRecord


@dataclass(frozen=True, slots=True)
class Limits:
    """What the app can store, told to a connector so it can refuse a file before it
    stores any of it (``Connector.limits``).

    Keys are ``<record>.<field>``: ``customer.first_name``, ``order.external_id``,
    ``order.company``, ``line.product_name``, ``line.product_group``, ``line.net_amount``,
    ``order.net_total`` and so on. ``lengths``: the most characters a text may have;
    ``bounds``: every amount's absolute value must be below it.
    """

    lengths: Mapping[str, int] = field(default_factory=dict)
    bounds: Mapping[str, Decimal] = field(default_factory=dict)

    def length(self, *keys: str) -> int | None:
        """The smallest length limit of ``keys`` (one value stored in several places)."""
        found = [self.lengths[k] for k in keys if k in self.lengths]
        return min(found) if found else None

    def bound(self, *keys: str) -> Decimal | None:
        found = [self.bounds[k] for k in keys if k in self.bounds]
        return min(found) if found else None

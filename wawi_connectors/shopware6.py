"""Shopware 6 through its Admin API (kind ``shopware6``).

Checked against Shopware's own docs (shopware/docs) and source (shopware/shopware):

- ``POST /api/oauth/token`` with ``grant_type=client_credentials``, ``client_id`` and
  ``client_secret`` answers ``token_type``, ``expires_in`` (600 s) and ``access_token``,
  sent as ``Authorization: Bearer …`` (guides/integrations-api/admin-api/authentication.md).
  Wrong credentials answer 401 ``{"errors": [{"title": "Client authentication failed"}]}``.
- ``POST /api/search/{entity}`` takes criteria ``page``/``limit``, ``filter`` (``equals``,
  ``equalsAny`` with a ``|``-joined value, ``range`` with ``gte``, ``multi``, ``not``),
  ``sort`` ``[{field, order}]``, nested ``associations`` and ``total-count-mode`` (0 none,
  1 exact) (general-concepts/search-criteria.md; @shopware/api-client admin schema).
- ``Accept: application/json`` selects ``{"total", "data", "aggregations"}``; without it
  the answer is JSON:API (Api/Response/ResponseFactoryRegistry.php, Type/Api/JsonType.php).
- ``sw-inheritance: 1`` lets variants inherit categories and custom fields from their
  parent (general-concepts/request-headers.md).
- Every DAL field is readable through the Admin API unless a definition removes it
  (``Field::__construct`` adds ``ApiAware(AdminApiSource)``), so ``order.salesChannel``,
  ``lineItems.price`` and ``lineItems.product`` load even without an explicit flag.
- Fields: customer ``customerNumber firstName lastName company email guest group
  defaultBillingAddress salutation`` (``newsletter`` only before 6.5)
  (CustomerDefinition.php; the salutation's ``salutationKey`` is ``mr``, ``mrs`` or
  ``not_specified`` in a standard installation, SalutationDefinition.php);
  order ``orderNumber orderDateTime amountNet amountTotal taxStatus shippingCosts
  stateMachineState orderCustomer currency salesChannel deliveries transactions
  lineItems`` (OrderDefinition.php); ``price``/``shippingCosts`` are CartPrice /
  CalculatedPrice with ``totalPrice``, ``calculatedTaxes[].tax`` and ``taxStatus`` gross,
  net or tax-free (CartPrice.php); a ``calculatedTaxes`` entry's ``price`` is the amount
  its ``tax`` was calculated on, gross or net like the order (CalculatedTax.php); line
  item ``label quantity totalPrice price type position payload`` where ``payload``
  holds ``productNumber`` and the product's ``customFields`` at order time
  (OrderLineItemDefinition.php, ProductCartProcessor). A line item without ``price``
  is taxed like its order (``_taxed_like_order``), never booked gross as net;
  order customer ``customerId email firstName lastName company customerNumber``
  (OrderCustomerDefinition.php).
- Revenue (docs/revenue.md): the lines are the line items of type ``product`` and
  ``custom``; the order's net total is the sum of their net amounts, the merchandise
  before order-level vouchers. Promotions (``type: "promotion"``, a negative price:
  discount codes and automatic promotions, PromotionProcessor), merchant credits
  (``credit``) and shipping (``shippingCosts``, no line item) are neither lines nor
  revenue; ``amountNet`` is not used, as it has the promotions and shipping taken off
  or added. The gross total is ``amountTotal``, what the customer pays.
- States: order open/in_progress/completed/cancelled; delivery ``returned`` and
  ``returned_partially`` (OrderDeliveryStates.php); transaction ``refunded`` and
  ``refunded_partially`` (OrderTransactionStates.php); newsletter recipient ``status``
  notSet/optIn/optOut/direct (NewsletterSubscriptionServiceInterface).
- Date filters are sent in Shopware's storage format ``Y-m-d H:i:s.v`` in UTC
  (``Defaults::STORAGE_DATE_TIME_FORMAT``), which compares with the DATETIME(3) columns.

Incremental reads. ``updatedAt`` stays null until an entity is first changed, and the
DAL cannot sort by "updatedAt, else createdAt", so one OR-filter on both dates has no
order in which a single timestamp marks a safe place to resume. Each stream is
therefore read in two keyset passes, each sorted by its date and id: entities changed
since the ``updated`` watermark, then never-changed entities created since the
``created`` watermark. The cursor is a small JSON object holding both watermarks (a
bare ISO timestamp is accepted as "everything since then"). Rows sharing a timestamp
are de-duplicated through the ids stored with each watermark.

Delivery and payment state changes are written to their own entities and need not
touch the order's ``updatedAt``; ``ReadContext.lookback_since`` re-reads orders placed
since then so late returns and refunds arrive.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from .base import (
    N_,
    AuthenticationError,
    Batch,
    ConfigurationError,
    Connector,
    ConnectorError,
    Message,
    ReadContext,
    SettingField,
)
from .http import (
    HTTP_SETTINGS,
    HttpClient,
    Sleep,
    Watermark,
    clean_text,
    keyset_pages,
    parse_utc,
    to_decimal,
)
from .records import (
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    OrderState,
    Record,
    guest_external_id,
)
from .registry import register

ENTITIES = {"customers": "customer", "orders": "order"}
ORDER_STATES: dict[str, OrderState] = {
    "open": "open",
    "in_progress": "open",
    "completed": "completed",
    "cancelled": "cancelled",
}
LINE_TYPES = frozenset({"product", "custom"})
CONSENTING = frozenset({"optIn", "direct"})
CENT = Decimal("0.01")
# Renew the token this long before Shopware lets it expire (tokens live 600 s).
TOKEN_MARGIN = 30.0


@register
class Shopware6Connector(Connector):
    kind = "shopware6"
    label = N_("Shopware 6 (Admin API)")
    settings_schema = (
        SettingField("base_url", N_("Shop URL"), "url", help=N_("e.g. https://shop.example.com")),
        SettingField(
            "client_id",
            N_("Access key ID"),
            help=N_(
                "Settings › System › Integrations; the integration needs read access "
                "to customers, orders, products, categories and newsletter recipients."
            ),
        ),
        SettingField("client_secret", N_("Secret access key"), "password", secret=True),
        SettingField("page_size", N_("Records per request"), "int", required=False, default=100),
        SettingField(
            "product_group_field",
            N_("Product custom field holding the product group"),
            required=False,
            default="",
            help=N_(
                "Empty: the product group is the name of the product's most specific "
                "category (deepest level, then alphabetical)."
            ),
        ),
        *HTTP_SETTINGS,
    )

    def __init__(
        self,
        settings: Mapping[str, Any],
        *,
        sleep: Sleep = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(settings)
        self.page_size = int(self.settings["page_size"])
        if not 1 <= self.page_size <= 500:
            raise ConfigurationError(N_("Shopware: records per request must be 1 to 500"))
        self.http = HttpClient.from_settings(
            self.settings,
            base_url=self.settings["base_url"],
            service="Shopware",
            sleep=sleep,
            headers={"sw-inheritance": "1"},
        )
        self.clock = clock
        self._token: str | None = None
        self._token_valid_until = 0.0

    def close(self) -> None:
        self.http.close()

    def test_connection(self) -> str:
        answer = self._search("order", {"limit": 1, "total-count-mode": 1})
        return Message(N_("Connected to Shopware: %(count)s orders."), count=answer.get("total", 0))

    def read(self, stream: str, context: ReadContext) -> Iterator[Batch]:
        if stream not in ENTITIES:
            raise ConfigurationError(N_("Shopware: unknown stream %(stream)r"), stream=stream)
        if stream == "orders" and context.lookback_since is not None:
            for rows in self._pages("order", self._lookback_criteria(context.lookback_since)):
                yield Batch(stream, self._records(stream, rows), context.cursor)
        marks = decode_cursor(context.cursor)
        for phase, date_field in (("updated", "updatedAt"), ("created", "createdAt")):
            fetch = partial(self._fetch_changed, stream, phase)
            key = partial(_row_key, date_field)
            for rows in keyset_pages(fetch, key, marks[phase]):
                yield Batch(stream, self._records(stream, rows), encode_cursor(marks))

    # -- API access -------------------------------------------------------------------

    def _access_token(self, renew: bool = False) -> str:
        if renew or self._token is None or self.clock() >= self._token_valid_until:
            answer = self.http.request(
                "POST",
                "api/oauth/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": self.settings["client_id"],
                    "client_secret": self.settings["client_secret"],
                },
            ).data
            token = answer.get("access_token") if isinstance(answer, dict) else None
            if not token:
                raise ConnectorError(N_("Shopware: the token answer holds no access_token"))
            lifetime = float(answer.get("expires_in") or 600)
            self._token = token
            self._token_valid_until = self.clock() + lifetime - min(TOKEN_MARGIN, lifetime / 2)
        return self._token

    def _search(self, entity: str, criteria: dict[str, Any]) -> dict[str, Any]:
        token = self._access_token()  # refused credentials fail here, without a retry
        try:
            return self._post_search(entity, criteria, token)
        except AuthenticationError:
            # A token can expire or be revoked mid-run: fetch a new one, once.
            return self._post_search(entity, criteria, self._access_token(renew=True))

    def _post_search(self, entity: str, criteria: dict[str, Any], token: str) -> dict[str, Any]:
        answer = self.http.request(
            "POST",
            f"api/search/{entity}",
            json=criteria,
            headers={"Authorization": f"Bearer {token}"},
        ).data
        if not isinstance(answer, dict) or not isinstance(answer.get("data", []), list):
            raise ConnectorError(
                N_("Shopware: unexpected answer from %(path)s"), path=f"search/{entity}"
            )
        return answer

    def _pages(self, entity: str, criteria: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Plain page-by-page reading, for result sets that do not move while read."""
        page = 1
        while True:
            rows = self._search(entity, {**criteria, "page": page, "limit": self.page_size}).get(
                "data", []
            )
            if rows:
                yield rows
            if len(rows) < self.page_size:
                return
            page += 1

    def _fetch_changed(
        self, stream: str, phase: str, mark: Watermark, page: int
    ) -> tuple[list[dict[str, Any]], bool]:
        if phase == "updated":
            date_field = "updatedAt"
            filters = [_since("updatedAt", mark.at) if mark.at else _not_null("updatedAt")]
        else:
            date_field = "createdAt"
            filters = [{"type": "equals", "field": "updatedAt", "value": None}]
            if mark.at:
                filters.append(_since("createdAt", mark.at))
        criteria = {
            "page": page,
            "limit": self.page_size,
            "filter": filters,
            "sort": [
                {"field": date_field, "order": "ASC"},
                {"field": "id", "order": "ASC"},
            ],
            "associations": self._associations(stream),
            "total-count-mode": 0,
        }
        rows = self._search(ENTITIES[stream], criteria).get("data", [])
        return rows, len(rows) == self.page_size

    def _lookback_criteria(self, since: datetime) -> dict[str, Any]:
        return {
            "filter": [_since("orderDateTime", since)],
            "sort": [{"field": "orderDateTime", "order": "ASC"}, {"field": "id", "order": "ASC"}],
            "associations": self._associations("orders"),
            "total-count-mode": 0,
        }

    def _associations(self, stream: str) -> dict[str, Any]:
        if stream == "customers":
            return {
                "group": {},
                "salutation": {},
                "defaultBillingAddress": {"associations": {"country": {}}},
            }
        product: dict[str, Any] = {}
        if not self.settings["product_group_field"]:
            product = {"associations": {"categories": {}}}
        return {
            "orderCustomer": {},
            "currency": {},
            "salesChannel": {},
            "stateMachineState": {},
            "deliveries": {"associations": {"stateMachineState": {}}},
            "transactions": {"associations": {"stateMachineState": {}}},
            "lineItems": {"associations": {"product": product}},
        }

    # -- mapping ----------------------------------------------------------------------

    def _records(self, stream: str, rows: list[dict[str, Any]]) -> list[Record]:
        if stream == "customers":
            consent = self._newsletter_consent(rows)
            return [_customer(row, consent) for row in rows]
        records: list[Record] = []
        for row in rows:
            records.extend(self._order(row))
        return records

    def _newsletter_consent(self, rows: list[dict[str, Any]]) -> dict[str, bool]:
        """Consent per lower-cased email from Shopware's newsletter recipients."""
        emails = sorted({row["email"].lower() for row in rows if row.get("email")})
        if not emails:
            return {}
        statuses: dict[str, set[str]] = {}
        criteria = {
            "filter": [{"type": "equalsAny", "field": "email", "value": "|".join(emails)}],
            "total-count-mode": 0,
        }
        for page in self._pages("newsletter-recipient", criteria):
            for recipient in page:
                email = (recipient.get("email") or "").lower()
                statuses.setdefault(email, set()).add(recipient.get("status"))
        consent = {}
        for email, found in statuses.items():
            if found & CONSENTING:
                consent[email] = True
            elif "optOut" in found:
                consent[email] = False
        return consent

    def _order(self, row: dict[str, Any]) -> list[Record]:
        records: list[Record] = []
        buyer = row.get("orderCustomer") or {}
        customer_id = buyer.get("customerId")
        if not customer_id:
            # The customer account was deleted (or never existed): keep the buyer by email;
            # the app gives the order to a registered customer with that email.
            email = clean_text(buyer.get("email"))
            customer_id = guest_external_id(email, row["id"])
            records.append(
                CustomerRecord(
                    external_id=customer_id,
                    number=clean_text(buyer.get("customerNumber")),
                    first_name=clean_text(buyer.get("firstName")),
                    last_name=clean_text(buyer.get("lastName")),
                    company_name=clean_text(buyer.get("company")),
                    email=email,
                )
            )
        tax_status = row.get("taxStatus") or (row.get("price") or {}).get("taxStatus") or "gross"
        items = sorted(
            (item for item in row.get("lineItems") or [] if item.get("type") in LINE_TYPES),
            key=lambda item: (item.get("position") or 0, item.get("id") or ""),
        )
        order_taxes = (row.get("price") or {}).get("calculatedTaxes") or []
        lines = tuple(
            self._line(number, item, tax_status, order_taxes)
            for number, item in enumerate(items, start=1)
        )
        records.append(
            OrderRecord(
                external_id=row["id"],
                customer_external_id=customer_id,
                ordered_at=parse_utc(row["orderDateTime"]),
                net_total=sum((line.net_amount for line in lines), Decimal("0.00")),
                state=_order_state(row),
                number=clean_text(row.get("orderNumber")),
                company=_name(row.get("salesChannel")),
                currency=(row.get("currency") or {}).get("isoCode") or "EUR",
                gross_total=to_decimal(row.get("amountTotal")).quantize(CENT),
                updated_at=parse_utc(row.get("updatedAt") or row["createdAt"]),
                lines=lines,
            )
        )
        return records

    def _line(
        self, number: int, item: dict[str, Any], tax_status: str, order_taxes: list[dict[str, Any]]
    ) -> OrderLineRecord:
        price = item.get("price") or _taxed_like_order(item.get("totalPrice"), order_taxes)
        net, gross = _net_gross(price, tax_status)
        payload = item.get("payload") or {}
        return OrderLineRecord(
            line_no=number,
            net_amount=net.quantize(CENT),
            gross_amount=gross.quantize(CENT),
            quantity=to_decimal(item.get("quantity") or 1),
            sku=clean_text(payload.get("productNumber")),
            product_name=clean_text(item.get("label")),
            product_group=self._product_group(item),
        )

    def _product_group(self, item: dict[str, Any]) -> str | None:
        product = item.get("product") or {}
        custom_field = self.settings["product_group_field"]
        if custom_field:
            # The payload keeps the product's custom fields as they were when ordered.
            for fields in ((item.get("payload") or {}).get("customFields"), _custom(product)):
                value = (fields or {}).get(custom_field)
                if value not in (None, ""):
                    return str(value)
            return None
        categories = [c for c in product.get("categories") or [] if _name(c)]
        if not categories:
            return None
        deepest = min(categories, key=lambda c: (-(c.get("level") or 0), _name(c)))
        return _name(deepest)


def decode_cursor(cursor: str | None) -> dict[str, Watermark]:
    """Both watermarks from a stored cursor; a bare ISO timestamp sets both."""
    try:
        if not cursor or not cursor.lstrip().startswith("{"):
            return {"updated": Watermark.from_json(cursor), "created": Watermark.from_json(cursor)}
        data = json.loads(cursor)
        return {phase: Watermark.from_json(data.get(phase)) for phase in ("updated", "created")}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigurationError(
            N_("Shopware: the stored cursor %(cursor)r cannot be read; reset the sync"),
            cursor=cursor,
        ) from None


def encode_cursor(marks: dict[str, Watermark]) -> str:
    return json.dumps({phase: mark.to_json() for phase, mark in marks.items()}, sort_keys=True)


def _row_key(date_field: str, row: dict[str, Any]) -> tuple[datetime, str]:
    return parse_utc(row[date_field]), row["id"]


def _since(field: str, at: datetime) -> dict[str, Any]:
    at = at.astimezone(UTC) if at.tzinfo else at
    storage = at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return {"type": "range", "field": field, "parameters": {"gte": storage}}


def _not_null(field: str) -> dict[str, Any]:
    return {
        "type": "not",
        "operator": "and",
        "queries": [{"type": "equals", "field": field, "value": None}],
    }


def _customer(row: dict[str, Any], consent: dict[str, bool]) -> CustomerRecord:
    address = row.get("defaultBillingAddress") or {}
    email = clean_text(row.get("email"))
    legacy_flag = row.get("newsletter")  # removed in Shopware 6.5
    return CustomerRecord(
        external_id=row["id"],
        number=clean_text(row.get("customerNumber")),
        first_name=clean_text(row.get("firstName")),
        last_name=clean_text(row.get("lastName")),
        company_name=clean_text(row.get("company")) or clean_text(address.get("company")),
        salutation=clean_text((row.get("salutation") or {}).get("salutationKey")),
        email=email,
        phone=clean_text(address.get("phoneNumber")),
        city=clean_text(address.get("city")),
        country=clean_text((address.get("country") or {}).get("iso")),
        customer_group=_name(row.get("group")),
        marketing_consent=consent.get(
            (email or "").lower(), legacy_flag if isinstance(legacy_flag, bool) else None
        ),
        updated_at=parse_utc(row.get("updatedAt") or row["createdAt"]),
    )


def _order_state(row: dict[str, Any]) -> OrderState:
    """Order state, overridden by a returned delivery or a refunded last payment."""
    state = _technical_name(row)
    if state == "cancelled":
        return "cancelled"
    deliveries = {_technical_name(d) for d in row.get("deliveries") or []}
    payments = sorted(row.get("transactions") or [], key=lambda t: t.get("createdAt") or "")
    if "returned" in deliveries or (payments and _technical_name(payments[-1]) == "refunded"):
        return "returned"
    return ORDER_STATES.get(state or "", "open")


def _net_gross(price: dict[str, Any] | None, tax_status: str) -> tuple[Decimal, Decimal]:
    """(net, gross) of a CalculatedPrice: ``totalPrice`` is gross unless taxed net."""
    if not price:
        return Decimal(0), Decimal(0)
    total = to_decimal(price.get("totalPrice"))
    tax = sum((to_decimal(t.get("tax")) for t in price.get("calculatedTaxes") or []), Decimal(0))
    if tax_status == "gross":
        return total - tax, total
    return total, total + tax


def _taxed_like_order(total: Any, order_taxes: list[dict[str, Any]]) -> dict[str, Any]:
    """A line's price when it has no price block: its ``totalPrice`` taxed like the order,
    at the share its ``calculatedTaxes`` take of the amounts they were calculated on
    (exact with one tax rate, the average with several)."""
    taxed = sum((to_decimal(t.get("price")) for t in order_taxes), Decimal(0))
    tax = sum((to_decimal(t.get("tax")) for t in order_taxes), Decimal(0))
    amount = to_decimal(total)
    return {
        "totalPrice": amount,
        "calculatedTaxes": [{"tax": amount * tax / taxed if taxed else 0}],
    }


def _technical_name(entity: dict[str, Any]) -> str | None:
    return (entity.get("stateMachineState") or {}).get("technicalName")


def _name(entity: dict[str, Any] | None) -> str | None:
    entity = entity or {}
    translated = (entity.get("translated") or {}).get("name")
    return clean_text(translated) or clean_text(entity.get("name"))


def _custom(entity: dict[str, Any]) -> dict[str, Any]:
    return (entity.get("translated") or {}).get("customFields") or entity.get("customFields") or {}

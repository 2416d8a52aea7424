"""Writes a connector's records: staged into temporary tables, then merged set-wise.

A batch of thousands of orders costs a dozen statements, not thousands: the rows go
into session-local staging tables (PostgreSQL ``COPY``, SQLite ``executemany``), and a
few ``INSERT … SELECT … ON CONFLICT`` statements upsert customers and orders by
(source, external id), resolve customer ids in the database and replace the orders'
lines. A shop's guest orders go to the source's registered customer with the guest's
email (the lowest id if several share it): an order arriving as the guest's is stored
with the registered customer, and a customer who registers later takes over the orders
stored for the guest with that email. The guest's customer row stays, without orders.
A newsletter sign-up's contact with the address of a customer in the batch is merged
into that customer (sources/contacts.py).
A customer's country is stored as its ISO code (wawi_connectors.countries); a value that
names no country we recognise is not refused (the CSV connector refuses it before it
gets here) but flagged: the code stays empty and the value is kept in ``country_raw``,
which the connector's page lists and the case page shows.
Everything runs in the caller's transaction, so a batch and its cursor still
commit together (recovery/sources/sync.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, String, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite

from wawi_connectors import (
    N_,
    Batch,
    CustomerRecord,
    Limits,
    Message,
    OrderRecord,
    ProductRecord,
)
from wawi_connectors.countries import country_code
from wawi_connectors.records import GUEST_PREFIX
from wawi_connectors.salutations import salutation_code

from ..extensions import db
from ..models import Company, Customer, Order, OrderLine, Product, ProductGroup, utcnow
from ..models.types import UTCDateTime
from . import contacts

CUSTOMER_COLUMNS = (
    "external_id",
    "number",
    "first_name",
    "last_name",
    "company_name",
    "email",
    "phone",
    "mobile",
    "city",
    "country",
    "country_raw",
    "customer_group",
    "marketing_consent",
    "salutation",
)
ORDER_COLUMNS = (
    "external_id",
    "number",
    "customer_external_id",
    "company_id",
    "ordered_at",
    "currency",
    "net_total",
    "gross_total",
    "state",
)
LINE_COLUMNS = (
    "order_id",
    "line_no",
    "sku",
    "product_name",
    "product_group_id",
    "quantity",
    "net_amount",
    "gross_amount",
    "state",
)
_STAGES = {
    "stage_customer": ", ".join(
        f"{c} {'BOOLEAN' if c == 'marketing_consent' else 'TEXT'}" for c in CUSTOMER_COLUMNS
    ),
    "stage_order": "external_id TEXT, number TEXT, customer_external_id TEXT, company_id INTEGER, "
    "ordered_at TIMESTAMP, currency TEXT, net_total NUMERIC(14, 2), gross_total NUMERIC(14, 2), "
    "state TEXT",
}
KNOWN_CUSTOMERS_LIMIT = 1_000_000
# A source without a salutation keeps the one known (a sign-up form's).
_CUSTOMER_UPDATE = ", ".join(
    f"{c} = COALESCE(excluded.{c}, customer.{c})" if c == "salutation" else f"{c} = excluded.{c}"
    for c in (*CUSTOMER_COLUMNS[1:], "updated_at")
)
MERGE_CUSTOMERS = f"""
INSERT INTO customer (source, {", ".join(CUSTOMER_COLUMNS)}, locale, created_at, updated_at)
SELECT :source, {", ".join(CUSTOMER_COLUMNS)}, 'de', :now, :now FROM stage_customer WHERE true
ON CONFLICT (source, external_id) DO UPDATE SET {_CUSTOMER_UPDATE}
"""
# An order may arrive before its customer: keep it, the details follow later.
ADD_MISSING_CUSTOMERS = """
INSERT INTO customer (source, external_id, locale, created_at, updated_at)
SELECT :source, e.customer_external_id, 'de', :now, :now
FROM (SELECT DISTINCT customer_external_id FROM stage_order) e WHERE true
ON CONFLICT (source, external_id) DO NOTHING
"""
# Ids are looked up row by row through the unique (source, external_id) indexes: during a
# first import the tables grow faster than their statistics, and a join planned on stale
# statistics would scan the whole source's orders in every batch. Lines need no lookup:
# the order upsert returns the ids and the lines go straight into order_line.
_ORDER_ID = "(SELECT o.id FROM customer_order o WHERE o.source = :source AND o.external_id = {})"
_CUSTOMER_ID = "(SELECT c.id FROM customer c WHERE c.source = :source AND c.external_id = {})"
EXISTING_ORDERS = f"SELECT {_ORDER_ID.format('s.external_id')} FROM stage_order s"
MERGE_ORDERS = f"""
INSERT INTO customer_order (source, external_id, number, customer_id, company_id, ordered_at,
                            currency, net_total, gross_total, state, updated_at)
SELECT :source, s.external_id, s.number, {_CUSTOMER_ID.format("s.customer_external_id")},
       s.company_id, s.ordered_at, s.currency, s.net_total, s.gross_total, s.state, :now
FROM stage_order s WHERE true
ON CONFLICT (source, external_id) DO UPDATE SET
    number = excluded.number, customer_id = excluded.customer_id,
    company_id = excluded.company_id, ordered_at = excluded.ordered_at,
    currency = excluded.currency, net_total = excluded.net_total,
    gross_total = excluded.gross_total, state = excluded.state, updated_at = excluded.updated_at
"""
MERGE_ORDERS_RETURNING = MERGE_ORDERS + "RETURNING external_id, id"
# The registered customer's column (id or external_id) for the guest whose column is ``guest``.
_REGISTERED = """(SELECT r.{column} FROM customer g JOIN customer r
    ON r.source = g.source AND r.email = g.email AND r.external_id NOT LIKE :guests
    WHERE g.source = :source AND g.{column} = {guest} ORDER BY r.id LIMIT 1)"""
GUEST_ORDERS_TO_REGISTERED = f"""
UPDATE stage_order SET customer_external_id = coalesce(
    {_REGISTERED.format(column="external_id", guest="stage_order.customer_external_id")},
    customer_external_id)
WHERE customer_external_id LIKE :guests
"""
_GUESTS_TAKEN_OVER = """customer g WHERE g.source = :source AND g.external_id LIKE :guests
    AND g.email IN (SELECT s.email FROM stage_customer s WHERE s.external_id NOT LIKE :guests)"""
# updated_at of both customers changes: the group rules' order facts of both are rebuilt
# (audience/facts.py)
TOUCH_GUESTS = (
    f"UPDATE customer SET updated_at = :now WHERE id IN (SELECT g.id FROM {_GUESTS_TAKEN_OVER})"
)
MOVE_GUEST_ORDERS = f"""
UPDATE customer_order
SET customer_id = {_REGISTERED.format(column="id", guest="customer_order.customer_id")},
    updated_at = :now
WHERE source = :source AND customer_id IN (SELECT g.id FROM {_GUESTS_TAKEN_OVER})
"""
DELETE_OLD_LINES = "DELETE FROM order_line WHERE order_id IN :ids"


# -- what the tables can hold ---------------------------------------------------------------

# Where each record field is stored: ``Limits`` keys -> model columns.
_TEXT_COLUMNS = {
    # (the country and the salutation are made codes by the store; consent is no text)
    **{
        f"customer.{c}": getattr(Customer, c)
        for c in CUSTOMER_COLUMNS
        if c not in ("country", "marketing_consent", "salutation")
    },
    "order.external_id": Order.external_id,
    "order.number": Order.number,
    "order.customer_external_id": Customer.external_id,
    "order.company": Company.name,
    "order.currency": Order.currency,
    "line.sku": OrderLine.sku,
    "line.product_name": OrderLine.product_name,
    "line.product_group": ProductGroup.name,
    "product.sku": Product.sku,
    "product.name": Product.name,
    "product.product_group": ProductGroup.name,
}
_AMOUNT_COLUMNS = {
    "order.net_total": Order.net_total,
    "order.gross_total": Order.gross_total,
    "line.net_amount": OrderLine.net_amount,
    "line.gross_amount": OrderLine.gross_amount,
    "line.quantity": OrderLine.quantity,
}
# Fields that are not cut: keys (two records could become one) and codes.
_WHOLE = {
    "customer.external_id",
    "order.external_id",
    "order.customer_external_id",
    "order.currency",
    "product.sku",
}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SHORTENED = N_("%(record)s: %(field)s shortened from %(length)s to %(limit)s characters")
CLEANED = N_("%(record)s: control characters removed from %(field)s")
NOT_STORED_LONG = N_(
    "%(record)s not stored: %(field)s has %(length)s characters, at most %(limit)s"
)
NOT_STORED_LARGE = N_("%(record)s not stored: %(field)s %(value)s is too large (below %(limit)s)")
NOTES_KEPT = 100
# How a note names the record and the field (phrases: the page shows them translated).
RECORD_NAMES = {
    "customer": N_("customer %(id)s"),
    "order": N_("order %(id)s"),
    "line": N_("order %(id)s, line %(line)s"),
    "product": N_("product %(id)s"),
}
FIELD_NAMES = {
    "external_id": N_("id"),
    "number": N_("number"),
    "first_name": N_("first name"),
    "last_name": N_("last name"),
    "company_name": N_("company name"),
    "email": N_("email address"),
    "phone": N_("phone"),
    "mobile": N_("mobile"),
    "city": N_("city"),
    "customer_group": N_("customer group"),
    "customer_external_id": N_("customer id"),
    "company": N_("company"),
    "currency": N_("currency"),
    "sku": N_("SKU"),
    "name": N_("product name"),  # a product's
    "product_name": N_("product name"),
    "product_group": N_("product group"),
    "net_total": N_("net total"),
    "gross_total": N_("gross total"),
    "net_amount": N_("net amount"),
    "gross_amount": N_("gross amount"),
    "quantity": N_("quantity"),
}


def _record(kind: str, external_id: str, line: int | None = None) -> Message:
    params = {"id": external_id[:40]} | ({"line": line} if line is not None else {})
    return Message(RECORD_NAMES[kind], **params)


def _field(name: str) -> Message:
    return Message(FIELD_NAMES[name]) if name in FIELD_NAMES else Message("%(name)s", name=name)


def _bound(column) -> Decimal:
    """The amounts a Numeric(p, s) column takes: below 10**(p-s), less half a cent (which
    the database would round up)."""
    kind: Numeric = column.type
    return Decimal(10) ** (kind.precision - kind.scale) - Decimal(5) * Decimal(10) ** (
        -kind.scale - 1
    )


def store_limits() -> Limits:
    """The column lengths and amount ranges of the tables records go into, read from the
    models (never copied): what a connector checks a whole file against."""
    return Limits(
        lengths={key: column.type.length for key, column in _TEXT_COLUMNS.items()},
        bounds={key: _bound(column) for key, column in _AMOUNT_COLUMNS.items()},
    )


class Fitter:
    """Makes an API's records fit the tables, so one odd value never breaks a sync.

    Decided (issue 13): text longer than its column is shortened to the column's length
    and control characters are removed – the rest of the record is worth keeping; a
    record whose key is too long, or with an amount out of range, is not stored (cutting
    a key could merge two records; an amount cannot be cut). Each case is noted (record,
    field, what was done) for the run's log and the job's page.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.notes: list[dict[str, Any]] = []
        self.shortened = 0
        self.refused = 0
        self._fields: dict[type, tuple[list, list]] = {}

    def note(self, template: str, record: Message, field: str, **params: Any) -> None:
        """Keep a note: the English ``reason`` for the log and the ``message`` the page
        says in the reader's language (``ui.row_reason``), record and field included."""
        if len(self.notes) < NOTES_KEPT:
            said = Message(template, record=record, field=_field(field), **params)
            self.notes.append({"message": said.to_json(), "reason": str(said)})

    def records(self, records: Iterable[Any]) -> list[Any]:
        fitted = []
        for record in records:
            if isinstance(record, CustomerRecord):
                record = self._fit(record, "customer", _record("customer", record.external_id))
            elif isinstance(record, OrderRecord):
                record = self._order(record)
            elif isinstance(record, ProductRecord):
                record = self._fit(record, "product", _record("product", record.sku))
            if record is not None:
                fitted.append(record)
        return fitted

    def _order(self, order: OrderRecord) -> OrderRecord | None:
        lines = []
        for line in order.lines:
            fitted = self._fit(line, "line", _record("line", order.external_id, line.line_no))
            if fitted is None:
                self.refused += 1
                return None
            lines.append(fitted)
        fitted_order = self._fit(order, "order", _record("order", order.external_id))
        if fitted_order is None:
            self.refused += 1
            return None
        changed = any(a is not b for a, b in zip(lines, order.lines, strict=True))
        return replace(fitted_order, lines=tuple(lines)) if changed else fitted_order

    def _fit(self, record: Any, kind: str, name: dict[str, Any]) -> Any:
        """The record, changed to fit, or None (noted) if it cannot be stored."""
        texts, amounts = self._checks(type(record), kind)
        changes: dict[str, Any] = {}
        for field, limit, whole in texts:
            value = getattr(record, field)
            if type(value) is not str or (len(value) <= limit and value.isprintable()):
                continue  # the usual case: one look at the value
            if _CONTROL.search(value):
                value = changes[field] = _CONTROL.sub("", value)
                self.note(CLEANED, record=name, field=field)
            if len(value) > limit:
                length = len(value)
                if whole:
                    self.note(NOT_STORED_LONG, record=name, field=field, length=length, limit=limit)
                    self.refused += kind in ("customer", "product")
                    return None
                changes[field] = value[:limit]
                self.shortened += 1
                self.note(SHORTENED, record=name, field=field, length=length, limit=limit)
        for field, bound in amounts:
            value = getattr(record, field)
            if isinstance(value, Decimal) and not (value.is_finite() and abs(value) < bound):
                limit = f"{bound:,.0f}"
                self.note(NOT_STORED_LARGE, record=name, field=field, value=str(value), limit=limit)
                return None
        return replace(record, **changes) if changes else record

    def _checks(self, record_type: type, kind: str) -> tuple[list, list]:
        """Per record type: (field, length, not to be cut) and (field, bound) to check."""
        if record_type not in self._fields:
            texts, amounts = [], []
            for f in fields(record_type):
                key = f"{kind}.{f.name}"
                if key in self.limits.lengths:
                    texts.append((f.name, self.limits.lengths[key], key in _WHOLE))
                if key in self.limits.bounds:
                    amounts.append((f.name, self.limits.bounds[key]))
            self._fields[record_type] = (texts, amounts)
        return self._fields[record_type]


def _statement(sql: str, **types):
    """``sql`` with typed parameters (psycopg needs one type per parameter)."""
    params = [bindparam("source", type_=String)]
    if ":now" in sql:
        params.append(bindparam("now", type_=UTCDateTime))
    return text(sql).bindparams(*params, *(bindparam(k, **v) for k, v in types.items()))


_MERGE_CUSTOMERS = _statement(MERGE_CUSTOMERS)
_ADD_MISSING_CUSTOMERS = _statement(ADD_MISSING_CUSTOMERS)
_EXISTING_ORDERS = _statement(EXISTING_ORDERS)
_MERGE_ORDERS = _statement(MERGE_ORDERS_RETURNING)
_GUEST_ORDERS_TO_REGISTERED = _statement(GUEST_ORDERS_TO_REGISTERED, guests={"type_": String})
_MOVE_GUEST_ORDERS = _statement(MOVE_GUEST_ORDERS, guests={"type_": String})
_TOUCH_GUESTS = _statement(TOUCH_GUESTS, guests={"type_": String})
GUESTS = {"guests": f"{GUEST_PREFIX}%"}
_ANY_GUEST = _statement(
    "SELECT 1 FROM customer WHERE source = :source AND external_id LIKE :guests LIMIT 1",
    guests={"type_": String},
)
_DELETE_OLD_LINES = text(DELETE_OLD_LINES).bindparams(bindparam("ids", expanding=True))


class _Names:
    """Resolves company and product group names to ids, creating them once per run."""

    def __init__(self, model) -> None:
        self.model = model
        self.ids: dict[str, int] = dict(
            db.session.execute(select(model.name, model.id)).tuples().all()
        )

    def ids_for(self, names: Iterable[str | None]) -> dict[str, int]:
        new = {n for n in names if n and n not in self.ids}
        if new:
            insert = _insert(self.model).on_conflict_do_nothing(index_elements=["name"])
            db.session.execute(insert, [{"name": n} for n in sorted(new)])
            self.ids.update(
                db.session.execute(
                    select(self.model.name, self.model.id).where(self.model.name.in_(new))
                )
                .tuples()
                .all()
            )
        return self.ids


def _insert(model):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


COUNTRY_RAW_LENGTH = Customer.__table__.c.country_raw.type.length


def _country(value: str | None) -> tuple[str | None, str | None]:
    """(ISO code, None), or (None, the source's value) when it names no country we
    recognise: an API source is not refused for it, the value is flagged instead."""
    text = (value or "").strip()
    code = country_code(text) if text else None
    return code, (text[:COUNTRY_RAW_LENGTH] if text and code is None else None)


def _customer_row(r: CustomerRecord) -> tuple[Any, ...]:
    return (
        r.external_id,
        r.number,
        r.first_name,
        r.last_name,
        r.company_name,
        (r.email or "").strip().lower() or None,
        r.phone,
        r.mobile,
        r.city,
        *_country(r.country),
        r.customer_group,
        r.marketing_consent,
        salutation_code(r.salutation),
    )


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class Store:
    """Writes one connector's records; keeps name → id lookups for the run."""

    def __init__(self, source: str, fit: bool = True) -> None:
        """``fit=False``: the records were checked against ``store_limits()`` already (a
        file connector refuses a file that does not fit), so they are not checked again."""
        self.source = source
        self.fitter = Fitter(store_limits())
        self.fit = fit
        self.companies = _Names(Company)
        self.groups = _Names(ProductGroup)
        self.postgres = db.session.get_bind().dialect.name == "postgresql"
        # Customers stored in this run (bounded): orders of these need no placeholder rows.
        self.known_customers: set[str] = set()
        self._guests: bool | None = None  # does the source have guest customers? (lazy)
        self._contacts: bool | None = None  # are there sign-up contacts to merge? (lazy)

    def _has_guests(self) -> bool:
        """Whether guest customers of this source are stored: a file connector never has
        any, so its customer batches skip the guest look-ups (one query per run)."""
        if self._guests is None:
            self._guests = (
                db.session.execute(_ANY_GUEST, {"source": self.source, **GUESTS}).first()
                is not None
            )
        return self._guests

    def _has_contacts(self) -> bool:
        """Whether sign-up contacts wait for a customer of their address (once per run)."""
        if self._contacts is None:
            self._contacts = contacts.any_contact()
        return self._contacts

    def batch(self, batch: Batch) -> int:
        """Store one batch in the current transaction; returns the number of records."""
        by_type: dict[type, list] = {CustomerRecord: [], ProductRecord: [], OrderRecord: []}
        records = self.fitter.records(batch.records) if self.fit else batch.records
        for record in records:
            by_type[type(record)].append(record)
        if by_type[CustomerRecord]:
            self.customers(by_type[CustomerRecord])
        if by_type[ProductRecord]:
            self.products(by_type[ProductRecord])
        if by_type[OrderRecord]:
            self.orders(by_type[OrderRecord])
        return len(batch.records)

    def customers(self, records: list[CustomerRecord]) -> None:
        latest = {r.external_id: r for r in records}  # a key twice in one batch: the last wins
        self._stage("stage_customer", CUSTOMER_COLUMNS, map(_customer_row, latest.values()))
        db.session.execute(_MERGE_CUSTOMERS, {"source": self.source, "now": utcnow()})
        registered = any(
            r.email and not r.external_id.startswith(GUEST_PREFIX) for r in latest.values()
        )
        if registered and self._has_guests():
            params = {"source": self.source, "now": utcnow(), **GUESTS}
            db.session.execute(_TOUCH_GUESTS, params)
            db.session.execute(_MOVE_GUEST_ORDERS, params)
        if registered and self._has_contacts():
            contacts.merge_staged()
        if len(self.known_customers) < KNOWN_CUSTOMERS_LIMIT:
            self.known_customers.update(latest)

    def products(self, records: list[ProductRecord]) -> None:
        groups = self.groups.ids_for(r.product_group for r in records)
        rows = {
            r.sku: {
                "source": self.source,
                "sku": r.sku,
                "name": r.name,
                "product_group_id": groups.get(r.product_group or ""),
            }
            for r in records
        }
        stmt = _insert(Product)
        stmt = stmt.on_conflict_do_update(
            index_elements=["source", "sku"],
            set_={"name": stmt.excluded.name, "product_group_id": stmt.excluded.product_group_id},
        )
        db.session.execute(stmt, list(rows.values()))

    def orders(self, records: list[OrderRecord]) -> None:
        latest = {r.external_id: r for r in records}
        companies = self.companies.ids_for(r.company for r in latest.values())
        groups = self.groups.ids_for(
            line.product_group for r in latest.values() for line in r.lines
        )
        self._stage(
            "stage_order",
            ORDER_COLUMNS,
            (
                (
                    r.external_id,
                    r.number,
                    r.customer_external_id,
                    companies.get(r.company or ""),
                    _naive_utc(r.ordered_at),
                    r.currency,
                    r.net_total,
                    r.gross_total,
                    r.state,
                )
                for r in latest.values()
            ),
        )
        params = {"source": self.source, "now": utcnow()}
        if any(r.customer_external_id.startswith(GUEST_PREFIX) for r in latest.values()):
            self._guests = True  # their customers are added below if missing
            db.session.execute(_GUEST_ORDERS_TO_REGISTERED, {"source": self.source, **GUESTS})
        if not self.known_customers.issuperset(r.customer_external_id for r in latest.values()):
            db.session.execute(_ADD_MISSING_CUSTOMERS, params)
        existing = db.session.scalars(_EXISTING_ORDERS, {"source": self.source}).all()
        ids = dict(db.session.execute(_MERGE_ORDERS, params).tuples().all())
        replaced = [order_id for order_id in existing if order_id is not None]
        if replaced:  # a changed order brings all its lines again
            db.session.execute(_DELETE_OLD_LINES, {"ids": replaced})
        self._copy(
            "order_line",
            LINE_COLUMNS,
            (
                (
                    ids[r.external_id],
                    line.line_no,
                    line.sku,
                    line.product_name,
                    groups.get(line.product_group or ""),
                    line.quantity,
                    line.net_amount,
                    line.gross_amount,
                    line.state,
                )
                for r in latest.values()
                for line in r.lines
            ),
        )

    def _stage(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
        """Replace the content of a session-local staging table with ``rows``."""
        conn = db.session.connection()
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({_STAGES[table]})")
        conn.exec_driver_sql(f"TRUNCATE {table}" if self.postgres else f"DELETE FROM {table}")
        self._copy(table, columns, rows)

    def _copy(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
        """Append ``rows`` to ``table``: COPY on PostgreSQL, executemany on SQLite."""
        conn = db.session.connection()
        names = ", ".join(columns)
        if self.postgres:
            cursor = conn.connection.driver_connection.cursor()
            with cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            values = [tuple(map(_sqlite_value, row)) for row in rows]
            if values:
                conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)


def _sqlite_value(value: Any) -> Any:
    """What SQLAlchemy would store on SQLite: datetimes as text, decimals as floats."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, Decimal):
        return float(value)
    return value

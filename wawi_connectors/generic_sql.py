"""Generic SQL: any SQLAlchemy URL and one SELECT per stream (PRODUCT.md D2).

The result columns of each query are matched to our fields by name (case does not
matter); other columns are ignored, a missing required column is a ConfigurationError
that names it.

- ``customers_query``: ``external_id`` (required), ``customer_number``, ``first_name``,
  ``last_name``, ``company_name``, ``email``, ``phone``, ``mobile``, ``city``, ``country``,
  ``customer_group``, ``salutation`` ("Herr", "Frau", "Firma", "Divers"),
  ``marketing_consent`` (yes/no, 1/0, true/false), ``updated_at``.
- ``orders_query``: ``external_id``, ``customer_external_id``, ``ordered_at``,
  ``net_total`` (required), ``order_number``, ``gross_total``, ``state``, ``company``,
  ``currency``, ``updated_at``. ``state`` holds open/completed/cancelled/returned or a
  value that ``state_map`` translates (e.g. {"storniert": "cancelled"}); without the
  column an order is completed.
- ``order_lines_query`` (optional): ``order_external_id``, ``net_amount`` (required),
  ``line_no``, ``sku``, ``product_name``, ``product_group``, ``quantity`` (default 1),
  ``gross_amount``. Lines are not a stream of their own: for every page of orders the
  lines of exactly those orders are read (``WHERE order_external_id IN (...)``), so each
  order arrives complete. A changed line must therefore move its order's cursor value;
  compute the orders' cursor column accordingly, e.g. the later of the order's and its
  lines' change times. ``order_external_id`` must have the same type as the orders'
  ``external_id``; without ``line_no`` lines are numbered in the order the query returns.

Incremental reads: ``<stream>_cursor_column`` names a result column that grows when a
row changes (a change time, a rowversion, an increasing id). The query is wrapped as a
subquery and paged by the pair (cursor column, external_id)::

    SELECT q.* FROM (<query>) AS q
    WHERE q.<cursor> IS NOT NULL
      AND (q.<cursor> > :value OR (q.<cursor> = :value AND q.external_id > :key))
    ORDER BY q.<cursor>, q.external_id  LIMIT n        -- TOP n on SQL Server

so any number of rows with the same cursor value are paged without skipping or repeating
one, as long as external_id is unique. The batch cursor is JSON holding the last row's
cursor value and external_id with their types, so they are bound back as the same SQL
types. Rows whose cursor value is NULL cannot be placed in that order: a full read
refuses them (DataError; use COALESCE in the query). Because of the wrapping, the query
must not end in ORDER BY or LIMIT, and on SQL Server it cannot start with WITH. A colon
is passed on as written (it is not a parameter).

Safety: ``sqlsource.check_select`` refuses everything but one SELECT/WITH statement, and
every read runs in a read-only transaction (see ``sqlsource``), which is the real guard.
Naive date/times are read in the ``timezone`` setting.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    DateTime,
    Float,
    LargeBinary,
    Numeric,
    Select,
    String,
    and_,
    column,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.sql.selectable import Subquery

from . import sqlsource
from .base import (
    N_,
    Batch,
    ConfigurationError,
    Connector,
    DataError,
    Message,
    ReadContext,
    RowError,
    SettingField,
)
from .records import ORDER_STATES, CustomerRecord, OrderLineRecord, OrderRecord, Record
from .registry import register

CUSTOMER_FIELDS = (
    "external_id", "customer_number", "first_name", "last_name", "company_name", "email",
    "phone", "mobile", "city", "country", "customer_group", "marketing_consent", "updated_at",
    "salutation",
)  # fmt: skip
ORDER_FIELDS = (
    "external_id", "customer_external_id", "ordered_at", "net_total", "order_number",
    "gross_total", "state", "company", "currency", "updated_at",
)  # fmt: skip
LINE_FIELDS = (
    "order_external_id", "net_amount", "line_no", "sku", "product_name", "product_group",
    "quantity", "gross_amount",
)  # fmt: skip
REQUIRED = {
    "customers": ("external_id",),
    "orders": ("external_id", "customer_external_id", "ordered_at", "net_total"),
    "order_lines": ("order_external_id", "net_amount"),
}
FIELDS = {"customers": CUSTOMER_FIELDS, "orders": ORDER_FIELDS, "order_lines": LINE_FIELDS}
QUERY_LABELS = {
    "customers": "Customers query",
    "orders": "Orders query",
    "order_lines": "Order lines query",
}


@dataclass(frozen=True)
class _Source:
    """A user's query wrapped as subquery ``q``, with its columns resolved."""

    label: str
    subquery: Subquery
    columns: dict[str, str]  # our field -> the result column's own name
    cursor: str | None = None

    def col(self, field: str) -> Any:
        return self.subquery.c[self.columns[field]]


def _wrapped(sql: str, names: Sequence[str] = ()) -> Subquery:
    # Every ':' is escaped so that text() does not take ":name" for a parameter.
    clause = text("\n" + sql.replace(":", "\\:") + "\n")
    return clause.columns(*(column(name) for name in names)).subquery("q")


@register
class GenericSqlConnector(sqlsource.EngineOwner, Connector):
    kind = "generic_sql"
    label = N_("Generic SQL database")
    streams = ("customers", "orders")
    settings_schema = (
        SettingField(
            "url",
            N_("Database URL"),
            kind="password",
            secret=True,
            help=N_(
                "SQLAlchemy URL, e.g. postgresql+psycopg://reader:secret@host/shop. "
                "Use a user that may only read."
            ),
        ),
        SettingField(
            "customers_query",
            N_("Customers query"),
            kind="text",
            help=N_(
                "One SELECT with the columns external_id, customer_number, salutation, "
                "first_name, last_name, company_name, email, phone, mobile, city, country, "
                "customer_group."
            ),
        ),
        SettingField(
            "customers_cursor_column", N_("Customers cursor column"), default="updated_at"
        ),
        SettingField(
            "orders_query",
            N_("Orders query"),
            kind="text",
            help=N_(
                "One SELECT with external_id, customer_external_id, ordered_at, net_total "
                "and optionally order_number, gross_total, state, company, currency."
            ),
        ),
        SettingField("orders_cursor_column", N_("Orders cursor column"), default="updated_at"),
        SettingField(
            "order_lines_query",
            N_("Order lines query"),
            kind="text",
            required=False,
            help=N_(
                "Optional SELECT with order_external_id, line_no, sku, product_name, "
                "product_group, quantity, net_amount."
            ),
        ),
        SettingField(
            "state_map",
            N_("Order states"),
            kind="json",
            required=False,
            help=N_(
                'Translate your state values, e.g. {"storniert": "cancelled", '
                '"retour": "returned", "offen": "open"}.'
            ),
        ),
        SettingField("timezone", N_("Time zone"), required=False, default="Europe/Berlin"),
        SettingField(
            "batch_size", N_("Records per batch"), kind="int", required=False, default=5000
        ),
    )

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values = super().validate_settings(settings)
        for stream, label in QUERY_LABELS.items():
            key = f"{stream}_query"
            if values[key] not in (None, ""):
                values[key] = sqlsource.check_select(values[key], label)
            else:
                values[key] = None
        for key in ("customers_cursor_column", "orders_cursor_column"):
            values[key] = str(values[key]).strip()
        states = sqlsource.json_object(values["state_map"], "Order states")
        wrong = sorted(str(v) for v in states.values() if v not in ORDER_STATES)
        if wrong:
            raise ConfigurationError(
                N_("Order states may only map to %(states)s; not %(wrong)s."),
                states=list(ORDER_STATES),
                wrong=wrong,
            )
        values["state_map"] = {str(k).strip().lower(): v for k, v in states.items()}
        values["timezone"] = sqlsource.load_timezone(values["timezone"])
        values["batch_size"] = sqlsource.positive_int(values["batch_size"], "Records per batch")
        return values

    def test_connection(self) -> str:
        """Count the rows of both streams; this also checks every query's columns."""
        with sqlsource.read_only(self.engine) as conn:
            counts = [
                conn.execute(
                    select(func.count()).select_from(self._source(conn, stream).subquery)
                ).scalar_one()
                for stream in self.streams
            ]
            if self.settings["order_lines_query"]:
                self._source(conn, "order_lines")
        return Message(
            N_("connected, %(customers)s customers, %(orders)s orders"),
            customers=counts[0],
            orders=counts[1],
        )

    def read(self, stream: str, context: ReadContext) -> Iterator[Batch]:
        if stream not in self.streams:
            raise ConfigurationError(N_("Generic SQL has no stream %(stream)r."), stream=stream)
        position = _decode_cursor(context.cursor)
        with sqlsource.read_only(self.engine) as conn:
            source = self._source(conn, stream)
            lines = None
            if stream == "orders" and self.settings["order_lines_query"]:
                lines = self._source(conn, "order_lines")
            if position is None:
                _refuse_null_cursors(conn, source)
        limit = self.settings["batch_size"]
        first_row = 1
        while True:
            with sqlsource.read_only(self.engine) as conn:
                rows = conn.execute(_page(source, position, limit)).mappings().all()
                keys = [row[source.columns["external_id"]] for row in rows]
                line_rows = _line_rows(conn, lines, keys)
            if not rows:
                return
            line_columns = lines.columns if lines is not None else {}
            records = self._records(stream, source, rows, (line_columns, line_rows), first_row)
            first_row += len(rows)
            last = rows[-1]
            position = (last[source.cursor], last[source.columns["external_id"]])
            yield Batch(stream, records, _encode_cursor(*position))
            if len(rows) < limit:
                return

    def _source(self, conn: Connection, stream: str) -> _Source:
        label = QUERY_LABELS[stream]
        sql = self.settings[f"{stream}_query"]
        probe = select(literal_column("*")).select_from(_wrapped(sql)).where(false())
        names = list(dict.fromkeys(conn.execute(probe).keys()))
        by_lower = {name.lower(): name for name in names}
        columns = {f: by_lower[f] for f in FIELDS[stream] if f in by_lower}
        missing = [f for f in REQUIRED[stream] if f not in columns]
        cursor = None
        if stream in self.streams:
            wanted = self.settings[f"{stream}_cursor_column"]
            cursor = by_lower.get(wanted.lower())
            if cursor is None:
                missing.append(Message(N_("%(column)s (the cursor column)"), column=wanted))
        if missing:
            raise ConfigurationError(
                N_("%(name)s lacks the columns: %(columns)s."), name=Message(label), columns=missing
            )
        return _Source(label, _wrapped(sql, names), columns, cursor)

    def _records(
        self,
        stream: str,
        source: _Source,
        rows: Sequence[Mapping[str, Any]],
        lines: tuple[Mapping[str, str], Mapping[str, list[Mapping[str, Any]]]],
        first_row: int,
    ) -> list[Record]:
        errors: list[RowError] = []
        records: list[Record] = []
        for offset, row in enumerate(rows):
            reader = _RowReader(first_row + offset, row, source.columns, errors)
            if stream == "customers":
                record: Record = _customer(reader, self.settings["timezone"])
            else:
                record = self._order(reader, *lines)
            if not reader.failed:
                records.append(record)
        if errors:
            raise DataError(
                N_("%(name)s: %(count)s unusable value(s)."),
                errors,
                name=Message(source.label),
                count=len(errors),
            )
        return records

    def _order(
        self,
        reader: _RowReader,
        line_columns: Mapping[str, str],
        line_rows: Mapping[str, list[Mapping[str, Any]]],
    ) -> OrderRecord:
        local = self.settings["timezone"]
        external_id = reader.get("external_id", sqlsource.identifier, required=True)
        lines = []
        for index, values in enumerate(line_rows.get(external_id, ()), start=1):
            line_reader = reader.nested(values, line_columns, index)
            lines.append(_line(line_reader, index))
        return OrderRecord(
            external_id=external_id,
            customer_external_id=reader.get(
                "customer_external_id", sqlsource.identifier, required=True
            ),
            ordered_at=reader.get("ordered_at", lambda v: sqlsource.to_utc(v, local), True),
            net_total=reader.get("net_total", sqlsource.to_decimal, True),
            gross_total=reader.get("gross_total", sqlsource.to_decimal),
            state=reader.get("state", self._state) or "completed",
            number=reader.get("order_number", sqlsource.text_or_none),
            company=reader.get("company", sqlsource.text_or_none),
            currency=reader.get("currency", sqlsource.text_or_none) or "EUR",
            updated_at=reader.get("updated_at", lambda v: sqlsource.to_utc(v, local)),
            lines=tuple(lines),
        )

    def _state(self, value: Any) -> str | None:
        key = sqlsource.text_or_none(value)
        if key is None:
            return None
        state = self.settings["state_map"].get(key.lower(), key.lower())
        if state not in ORDER_STATES:
            raise ValueError(
                Message(
                    N_("unknown state %(value)r; translate it in the order states setting"),
                    value=value,
                )
            )
        return state


class _RowReader:
    """Reads our fields from one result row and collects what cannot be converted.

    A failed field is recorded as a RowError (row number, column, reason) and marks the
    row, and the order a line belongs to, as failed.
    """

    def __init__(
        self,
        row_no: int,
        row: Mapping[str, Any],
        columns: Mapping[str, str],
        errors: list[RowError],
        line: int | None = None,
        parent: _RowReader | None = None,
    ):
        self.row_no, self.row, self.columns = row_no, row, columns
        self.errors, self.line, self.parent = errors, line, parent
        self.failed = False

    def get(self, field: str, convert: Any, required: bool = False) -> Any:
        if field not in self.columns:
            return None
        name = self.columns[field]
        try:
            value = convert(self.row[name])
        except ValueError as error:
            reason = error.args[0] if error.args else ""
            self._fail(name, reason if isinstance(reason, Message) else Message(str(reason)))
            return None
        if value is None and required:
            self._fail(name, Message(N_("is empty")))
        return value

    def nested(self, row: Mapping[str, Any], columns: Mapping[str, str], line: int) -> _RowReader:
        return _RowReader(self.row_no, row, columns, self.errors, line, parent=self)

    def _fail(self, column_name: str, reason: Message) -> None:
        reader: _RowReader | None = self
        while reader is not None:
            reader.failed = True
            reader = reader.parent
        if self.line is not None:
            error = RowError.of(
                self.row_no,
                column_name,
                N_("line %(line)s: %(reason)s"),
                line=self.line,
                reason=reason,
            )
        else:
            error = RowError.of(self.row_no, column_name, reason.template, **reason.params)
        self.errors.append(error)


def _customer(reader: _RowReader, local: ZoneInfo) -> CustomerRecord:
    text = sqlsource.text_or_none
    return CustomerRecord(
        external_id=reader.get("external_id", sqlsource.identifier, required=True),
        number=reader.get("customer_number", text),
        first_name=reader.get("first_name", text),
        last_name=reader.get("last_name", text),
        company_name=reader.get("company_name", text),
        email=reader.get("email", text),
        phone=reader.get("phone", text),
        mobile=reader.get("mobile", text),
        city=reader.get("city", text),
        country=reader.get("country", text),
        customer_group=reader.get("customer_group", text),
        salutation=reader.get("salutation", text),
        marketing_consent=reader.get("marketing_consent", sqlsource.to_bool),
        updated_at=reader.get("updated_at", lambda v: sqlsource.to_utc(v, local)),
    )


def _line_number(value: Any) -> int | None:
    if value is None:
        return None
    number = sqlsource.to_decimal(value)
    if number is None or number != number.to_integral_value():
        raise ValueError(Message(N_("is not a whole number: %(value)r"), value=value))
    return int(number)


def _line(reader: _RowReader, index: int) -> OrderLineRecord:
    text = sqlsource.text_or_none
    return OrderLineRecord(
        line_no=reader.get("line_no", _line_number) or index,
        net_amount=reader.get("net_amount", sqlsource.to_decimal, True),
        quantity=reader.get("quantity", sqlsource.to_decimal) or Decimal(1),
        sku=reader.get("sku", text),
        product_name=reader.get("product_name", text),
        product_group=reader.get("product_group", text),
        gross_amount=reader.get("gross_amount", sqlsource.to_decimal),
    )


def _refuse_null_cursors(conn: Connection, source: _Source) -> None:
    cursor = source.subquery.c[source.cursor]
    empty = conn.execute(
        select(func.count()).select_from(source.subquery).where(cursor.is_(None))
    ).scalar_one()
    if empty:
        raise DataError(
            N_(
                "%(name)s: %(count)s row(s) have no value in the cursor column %(column)s; "
                "such rows cannot be read incrementally. Give them a value, e.g. with COALESCE."
            ),
            name=Message(source.label),
            count=empty,
            column=source.cursor,
        )


def _page(source: _Source, position: tuple[Any, Any] | None, limit: int) -> Select:
    cursor = source.subquery.c[source.cursor]
    key = source.col("external_id")
    query = select(source.subquery).where(cursor.is_not(None))
    if position is not None:
        value, last_key = position
        query = query.where(
            or_(
                cursor > _bind(value),
                and_(cursor == _bind(value), key > _bind(last_key)),
            )
        )
    return query.order_by(cursor, key).limit(limit)


def _line_rows(
    conn: Connection, lines: _Source | None, order_keys: Sequence[Any]
) -> dict[str, list[Mapping[str, Any]]]:
    if lines is None or not order_keys:
        return {}
    order_id = lines.col("order_external_id")
    order_by = [order_id]
    if "line_no" in lines.columns:
        order_by.append(lines.col("line_no"))
    found: dict[str, list[Mapping[str, Any]]] = {}
    for chunk in sqlsource.chunks(list(dict.fromkeys(order_keys))):
        query = select(lines.subquery).where(order_id.in_(chunk)).order_by(*order_by)
        for row in conn.execute(query).mappings():
            key = sqlsource.identifier(row[lines.columns["order_external_id"]])
            found.setdefault(key, []).append(row)
    return found


# --- the cursor -----------------------------------------------------------------------

_TYPES = {
    "int": BigInteger,
    "decimal": Numeric,
    "float": Float,
    "datetime": DateTime,
    "date": Date,
    "str": String,
    "bytes": LargeBinary,
}


def _tag(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return ["int", int(value)]
    if isinstance(value, int):
        return ["int", value]
    if isinstance(value, Decimal):
        return ["decimal", str(value)]
    if isinstance(value, float):
        return ["float", value]
    if isinstance(value, datetime):
        return ["datetime", value.isoformat()]
    if isinstance(value, date):
        return ["date", value.isoformat()]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ["bytes", bytes(value).hex()]
    raise ConfigurationError(
        N_(
            "Cursor values of type %(type)s are not supported; "
            "use a number, text or date/time column."
        ),
        type=type(value).__name__,
    )


def _untag(tagged: Any) -> Any:
    tag, raw = tagged
    if tag == "int":
        return int(raw)
    if tag == "decimal":
        return Decimal(raw)
    if tag == "float":
        return float(raw)
    if tag == "datetime":
        return datetime.fromisoformat(raw)
    if tag == "date":
        return date.fromisoformat(raw)
    if tag == "bytes":
        return bytes.fromhex(raw)
    if tag == "str":
        return str(raw)
    raise ValueError(tag)


def _bind(value: Any) -> Any:
    if isinstance(value, datetime):
        return literal(value, DateTime(timezone=value.tzinfo is not None))
    return literal(value, _TYPES[_tag(value)[0]]())


def _encode_cursor(value: Any, key: Any) -> str:
    return json.dumps({"v": _tag(value), "k": _tag(key)}, separators=(",", ":"))


def _decode_cursor(cursor: str | None) -> tuple[Any, Any] | None:
    if cursor is None:
        return None
    try:
        data = json.loads(cursor)
        return _untag(data["v"]), _untag(data["k"])
    except (ValueError, TypeError, KeyError):
        raise ConfigurationError(
            N_("Invalid generic SQL cursor: %(cursor)r"), cursor=cursor
        ) from None

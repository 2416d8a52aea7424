"""CSV / Excel order-line files (kind ``csv``).

One row per order line, customer and order columns repeated -- the export every WaWi
and shop can make. German exports work without settings: encoding (UTF-8 with or
without BOM, else cp1252 -- decided on the whole file), separator (``;``, ``,`` or tab)
and the number style of each amount column are detected; dates are read as
dd.mm.yyyy[ HH:MM[:SS]], dd.mm.yy or ISO, in the business time zone. Where the file
has a position type ("Positionstyp"), positions that are no goods (shipping, vouchers,
fees, packaging) are left out: they are neither lines nor revenue (docs/revenue.md).

A file is validated completely before anything is yielded (``tabular.scan``); a bad
file raises ``DataError`` listing row, column and reason. Besides unreadable cells that
is a value the app cannot store (``Connector.limits``: texts longer than their column,
amounts and order totals out of the column's range), a control character, a file
without order lines, and the rows of a UTF-8 file that are not UTF-8 (unless the
``cp1252_rows`` setting says to read just those rows as Windows-1252). An Excel sheet
is read up to its last row with a value, however many empty rows follow. Then the ``customers``
stream yields each customer once, with the data of their latest order, and the
``orders`` stream yields each order with its lines. The cursor of both streams is the
file's sha256: a read with that cursor yields nothing ("this file is imported").

The file is read once, in chunks; the validated chunks wait in an anonymous temporary
file (``tabular.spool``) for the two streams, until ``close()``. Memory grows with the
number of orders and customers (an index of their rows), not with lines or columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from .base import N_, Batch, ConfigurationError, Connector, Message, ReadContext, SettingField
from .records import (
    VOID_STATES,
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    Record,
    state_of_lines,
)
from .registry import register
from .tabular.mapping import (
    REQUIRED_FIELDS,
    TARGET_FIELDS,
    Layout,
    mapping_signature,
    parse_mapping,
    propose,
    propose_mapping,
    resolve_layout,
)
from .tabular.scan import Scanner, ScanResult
from .tabular.source import FileInfo, file_hash, head_rows, inspect_file
from .tabular.values import (
    Cells,
    Column,
    Memo,
    decimal_parser,
    parse_column,
    parse_countries,
    parse_currencies,
    parse_dates,
    parse_flags,
    parse_states,
    parse_text,
)

__all__ = [
    "REQUIRED_FIELDS",
    "TARGET_FIELDS",
    "CsvFileConnector",
    "FileCheck",
    "Preview",
    "mapping_signature",
    "preview",
    "propose_mapping",
]

BATCH_SIZE = 5_000
CUSTOMER_FIELDS = (
    "salutation",
    "first_name",
    "last_name",
    "company_name",
    "email",
    "phone",
    "mobile",
    "city",
    "country",
    "customer_group",
)
ORDER_FIELDS = ("order_number", "customer_number", "ordered_at", "company", "state", "currency")
_HEAD_FIELDS = ORDER_FIELDS[1:]  # what an order takes from its first line
_HEAD_STATE = _HEAD_FIELDS.index("state")
# in the order of OrderLineRecord's fields after line_no
LINE_FIELDS = (
    "net_amount",
    "quantity",
    "sku",
    "product_name",
    "product_group",
    "gross_amount",
    "state",
)
_ONE = Decimal(1)
_ZERO = Decimal(0)
_SEPARATOR_NAMES = {";": N_("semicolon"), ",": N_("comma"), "\t": N_("tab")}
SAMPLE_ROWS = 1_000  # the first rows whose values the proposal looks at


@dataclass(frozen=True, slots=True)
class Preview:
    """What the upload page shows before an import: the file, its first rows, a mapping."""

    file_type: str  # "csv" or "xlsx"
    encoding: str | None
    separator: str | None
    headers: list[str]
    rows: list[list[str]]
    mapping: dict[str, str]  # the proposal: target field -> header
    hints: dict[str, str]  # target field -> why the proposal is unsure (``Proposal``)
    signature: str  # mapping_signature(headers): look up a saved mapping with it
    unmapped_required: list[str]  # required target fields the proposal did not find
    # A UTF-8 file with rows that are not (``FileInfo.foreign_rows``): the first of
    # them and how many; the import refuses them unless ``cp1252_rows`` is set.
    foreign_rows: tuple[int, ...] = ()
    foreign_total: int = 0


@dataclass(frozen=True, slots=True)
class FileCheck:
    """A file that passed validation, and what an import of it would bring."""

    file_name: str
    content_hash: str
    lines: int
    customers: int
    orders: int


def preview(path: str, rows: int = 10) -> Preview:
    """Detected format, headers, the first ``rows`` rows as text, and a proposed mapping."""
    info = inspect_file(path)
    sample = head_rows(info, max(rows, SAMPLE_ROWS))
    proposal = propose(info.headers, sample)
    return Preview(
        file_type=info.file_type,
        encoding=info.encoding,
        separator=info.separator,
        headers=list(info.headers),
        rows=sample[:rows],
        mapping=proposal.mapping,
        hints=proposal.hints,
        signature=mapping_signature(info.headers),
        unmapped_required=[t for t in REQUIRED_FIELDS if t not in proposal.mapping],
        foreign_rows=info.foreign_rows,
        foreign_total=info.foreign_total,
    )


@register
class CsvFileConnector(Connector):
    kind = "csv"
    label = N_("CSV / Excel file")
    settings_schema = (
        SettingField(
            "path", N_("File"), help=N_("The uploaded order-line export (.csv or .xlsx).")
        ),
        SettingField(
            "file_name",
            N_("File name"),
            required=False,
            help=N_("The name the file was uploaded with; messages name the file by it."),
        ),
        SettingField(
            "mapping",
            N_("Column mapping"),
            kind="json",
            required=False,
            help=N_("Field -> column header. Empty: proposed from the headers."),
        ),
        SettingField(
            "cp1252_rows",
            N_("Rows in Windows-1252"),
            kind="bool",
            required=False,
            default=False,
            help=N_(
                "For a UTF-8 file with some rows in Windows-1252: read those rows as "
                "Windows-1252 instead of refusing the file."
            ),
        ),
        SettingField(
            "timezone",
            N_("Time zone"),
            default="Europe/Berlin",
            help=N_("The time zone the file's dates and times are in."),
        ),
        SettingField(
            "default_currency",
            N_("Currency"),
            default="EUR",
            help=N_("For files without a currency column and for empty currency cells."),
        ),
    )
    streams = ("customers", "orders")
    checks_limits = True  # the scan refuses a file with a value that does not fit

    def __init__(self, settings: Mapping[str, Any]):
        super().__init__(settings)
        self._scanned: ScanResult | None = None

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values = super().validate_settings(settings)
        try:
            ZoneInfo(values["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                N_("Unknown time zone: %(name)s"), name=values["timezone"]
            ) from None
        currency = str(values["default_currency"]).strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise ConfigurationError(
                N_("Not a currency code: %(code)s"), code=values["default_currency"]
            )
        values["default_currency"] = currency
        values["mapping"] = parse_mapping(values["mapping"])
        return values

    def test_connection(self) -> str:
        info = inspect_file(self.settings["path"], self.settings.get("file_name"))
        self._layout(info)
        if info.file_type == "xlsx":
            detail: str = "Excel"
        else:
            separator = _SEPARATOR_NAMES.get(info.separator or "")
            detail = Message(
                N_("CSV, %(encoding)s, %(separator)s"),
                encoding=info.encoding,
                separator=Message(separator) if separator else "",
            )
        return Message(
            N_(
                "%(file)s is readable (%(detail)s, %(columns)s columns); "
                "all required fields are mapped"
            ),
            file=info.name,
            detail=detail,
            columns=len(info.headers),
        )

    def check(self) -> FileCheck:
        """Validate the whole file without importing; raises ``DataError`` if it is bad."""
        info, layout = self._open()
        scanned = self._scan(info, layout)
        return FileCheck(
            info.name, info.content_hash, scanned.lines, scanned.customers, scanned.orders
        )

    def read(self, stream: str, context: ReadContext) -> Iterator[Batch]:
        """Yield the stream's records in batches; nothing if ``context.cursor`` is this file.

        Every batch but the last carries the old cursor, the last one the file's hash:
        an import that stops halfway is repeated in full (upserts make that harmless).
        """
        if stream not in self.streams:
            raise ConfigurationError(N_("Unknown stream: %(stream)s"), stream=stream)
        info, layout = self._open()
        if context.cursor == info.content_hash:
            return
        scanned = self._scan(info, layout)
        if stream == "customers":
            records: Iterable[Record] = self._customers(scanned)
        else:
            records = self._orders(scanned)
        yield from _batches(stream, records, context.cursor, info.content_hash)

    def close(self) -> None:
        """Drop the validated copy of the file kept for the streams."""
        if self._scanned is not None:
            self._scanned.spool.close()
            self._scanned = None

    def _open(self) -> tuple[FileInfo, Layout]:
        path = self.settings["path"]
        scanned = self._scanned
        if scanned is not None and file_hash(path) == scanned.info.content_hash:
            return scanned.info, scanned.layout  # spares re-reading an Excel file's headers
        info = inspect_file(path, self.settings.get("file_name"))
        return info, self._layout(info)

    def _layout(self, info: FileInfo) -> Layout:
        """The file's columns by the mapping setting, else by the proposal a preview shows."""
        mapping = self.settings["mapping"]
        if mapping is None:
            mapping = propose(info.headers, head_rows(info, SAMPLE_ROWS)).mapping
        return resolve_layout(info.headers, mapping)

    def _scan(self, info: FileInfo, layout: Layout) -> ScanResult:
        """Validate the file, once per content (both streams read the same file)."""
        if self._scanned is None or self._scanned.info.content_hash != info.content_hash:
            self.close()
            scanner = Scanner(
                info,
                layout,
                self.settings["timezone"],
                self.settings["default_currency"],
                self.limits,
                bool(self.settings["cp1252_rows"]),
            )
            self._scanned = scanner.run()
        return self._scanned

    def _customers(self, scanned: ScanResult) -> Iterator[CustomerRecord]:
        """Each customer once, from the row of their latest order."""
        for rows, cells in scanned.spool:
            wanted = _rows_among(rows, scanned.customer_rows)
            if not wanted.any():
                continue
            cells = {t: c.pick(wanted) for t, c in cells.items()}
            fields = {t: parse_text(cells[t]).values for t in CUSTOMER_FIELDS if t in cells}
            if "marketing_consent" in cells:
                fields["marketing_consent"] = parse_flags(cells["marketing_consent"]).values
            if "country" in cells:
                fields["country"] = parse_countries(cells["country"]).values
            numbers = parse_text(cells["customer_number"]).values.tolist()
            columns = {name: values.tolist() for name, values in fields.items()}
            for i, number in enumerate(numbers):
                yield CustomerRecord(
                    external_id=number,
                    number=number,
                    **{name: values[i] for name, values in columns.items()},
                )

    def _orders(self, scanned: ScanResult) -> Iterator[OrderRecord]:
        """Orders with their lines, each yielded at its last line (known from the scan).

        Lines of one order need not be next to each other: an order stays open until its
        last line, so memory grows only with orders whose lines are spread out.

        The status is per line (a cancelled position of a completed order). An order
        whose lines all share one state has that state and the sums of its lines; the
        few others get theirs from their lines (``_mixed_order``).
        """
        open_orders: dict[str, _OpenOrder] = {}
        parsers = {t: decimal_parser(style) for t, style in scanned.amount_styles.items()}
        for rows, cells in scanned.spool:
            columns = self._order_columns(cells, parsers, len(rows))
            values = {name: column.values for name, column in columns.items()}
            values["quantity"] = np.where(columns["quantity"].missing, _ONE, values["quantity"])
            # runs of lines with the same order number, usually a whole order each
            codes = cells["order_number"].codes
            starts = np.flatnonzero(np.append(True, codes[1:] != codes[:-1]))
            bounds = np.append(starts, len(rows))
            line_no = np.arange(len(rows)) - np.repeat(starts, np.diff(bounds)) + 1
            # positional: a fifth faster than keywords over a million lines; the field
            # order is OrderLineRecord's (line_no, net, quantity, sku, name, group, gross, state)
            lines = list(
                map(
                    OrderLineRecord,
                    line_no.tolist(),
                    *(values[t].tolist() for t in LINE_FIELDS),
                )
            )
            states = values["state"]
            first_state = np.repeat(states[starts], np.diff(bounds))
            runs = zip(
                values["order_number"][starts].tolist(),
                zip(*(values[t][starts].tolist() for t in _HEAD_FIELDS), strict=True),
                np.add.reduceat(values["net_amount"], starts).tolist(),
                _run_totals(columns["gross_amount"], starts),
                np.logical_or.reduceat(states != first_state, starts).tolist(),
                _rows_among(rows, scanned.order_end_rows)[bounds[1:] - 1].tolist(),
                bounds[:-1].tolist(),
                bounds[1:].tolist(),
                strict=True,
            )
            for number, head, net, gross, mixed, ends, start, stop in runs:
                order = open_orders.pop(number, None)
                if order is None and ends:  # the usual case: an order in one piece
                    yield _order_record(number, head, net, gross, lines[start:stop], mixed)
                    continue
                order = order or _OpenOrder(head)
                order.add(
                    lines[start:stop],
                    net,
                    gross,
                    mixed or head[_HEAD_STATE] != order.head[_HEAD_STATE],
                )
                if ends:
                    yield _order_record(
                        number, order.head, order.net, order.gross, order.lines, order.mixed
                    )
                else:
                    open_orders[number] = order

    def _order_columns(
        self, cells: dict[str, Cells], parsers: dict[str, Memo], size: int
    ) -> dict[str, Column]:
        """The order and line fields of one chunk, parsed."""
        tz, currency = self.settings["timezone"], self.settings["default_currency"]

        def column(target: str, parse: Callable[[Cells], Column], default: Any) -> Column:
            if target not in cells:
                return Column.constant(default, size)
            return parse(cells[target])

        def amounts(target: str) -> Column:
            return column(target, lambda c: parse_column(c, parsers[target]), None)

        return {
            "order_number": column("order_number", parse_text, None),
            "customer_number": column("customer_number", parse_text, None),
            "ordered_at": column("ordered_at", lambda c: parse_dates(c, tz)[0], None),
            "company": column("company", parse_text, None),
            "state": column("state", parse_states, "completed"),
            "currency": column("currency", lambda c: parse_currencies(c, currency), currency),
            "sku": column("sku", parse_text, None),
            "product_name": column("product_name", parse_text, None),
            "product_group": column("product_group", parse_text, None),
            "quantity": amounts("quantity"),
            "net_amount": amounts("net_amount"),
            "gross_amount": amounts("gross_amount"),
        }


class _OpenOrder:
    """An order whose last line has not been read yet."""

    __slots__ = ("head", "net", "gross", "lines", "mixed")

    def __init__(self, head: tuple[Any, ...]):
        self.head = head
        self.net = _ZERO
        self.gross: Decimal | None = _ZERO
        self.lines: list[OrderLineRecord] = []
        self.mixed = False  # its lines have different states

    def add(
        self, lines: list[OrderLineRecord], net: Decimal, gross: Decimal | None, mixed: bool
    ) -> None:
        if self.lines:  # lines come numbered from 1
            lines = [replace(line, line_no=len(self.lines) + line.line_no) for line in lines]
        self.lines += lines
        self.net += net
        self.gross = None if self.gross is None or gross is None else self.gross + gross
        self.mixed = self.mixed or mixed


def _order_record(
    number: str,
    head: tuple[Any, ...],
    net: Decimal,
    gross: Decimal | None,
    lines: list[OrderLineRecord],
    mixed: bool,
) -> OrderRecord:
    customer, ordered_at, company, state, currency = head
    if mixed:
        state, net, gross = _mixed_order(lines)
    return OrderRecord(
        external_id=number,
        customer_external_id=customer,
        ordered_at=ordered_at,
        net_total=net,
        state=state,
        number=number,
        company=company,
        currency=currency,
        gross_total=gross,
        lines=tuple(lines),
    )


def _mixed_order(lines: list[OrderLineRecord]) -> tuple[str, Decimal, Decimal | None]:
    """State, net and gross of an order whose lines have different states: cancelled and
    returned lines add nothing (unless no line is live: then the order is void anyway)."""
    live = [line for line in lines if line.state not in VOID_STATES]
    counted = live or lines
    net = sum((line.net_amount for line in counted), _ZERO)
    grosses = [line.gross_amount for line in counted]
    gross = None if None in grosses else sum(grosses, _ZERO)
    return state_of_lines(line.state for line in lines), net, gross


def _run_totals(amounts: Column, starts: np.ndarray) -> list[Decimal | None]:
    """Sums per run of lines; None for a run with a line without an amount."""
    filled = np.where(amounts.missing, _ZERO, amounts.values)
    totals = np.add.reduceat(filled, starts)
    totals[np.logical_or.reduceat(amounts.missing, starts)] = None
    return totals.tolist()


def _batches(
    stream: str, records: Iterable[Record], before: str | None, after: str
) -> Iterator[Batch]:
    """Batches of BATCH_SIZE; the last (possibly empty) one carries the new cursor."""
    records = iter(records)
    current = list(islice(records, BATCH_SIZE))
    while following := list(islice(records, BATCH_SIZE)):
        yield Batch(stream, current, before)
        current = following
    yield Batch(stream, current, after)


def _rows_among(rows: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Which of the ascending ``rows`` are in the ascending ``wanted``."""
    low, high = np.searchsorted(wanted, [rows[0], rows[-1] + 1]) if len(rows) else (0, 0)
    return np.isin(rows, wanted[low:high], assume_unique=True)

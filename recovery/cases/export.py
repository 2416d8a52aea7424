"""CSV and Excel export of exactly the listed cases (Q2), streamed so memory stays flat.

German default: UTF-8 with BOM, ``;`` separator, ``1234,56`` decimals, ``dd.mm.yyyy``
dates. English: ``,`` separator, ``1234.56``, ISO dates. Cells that a spreadsheet
would read as a formula are neutralised with a leading apostrophe. The ``.xlsx`` has the
same columns with numbers as numbers and dates as dates (openpyxl's write-only workbook,
rows written to a temporary file as they come). The status is the status's name in the
export's language.
"""

from __future__ import annotations

import csv
import io
import re
from collections import namedtuple
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from psycopg.rows import namedtuple_row

from .. import formatting
from ..extensions import db
from ..models import Case, Company, Customer, User
from ..models.case import STATUS_LABELS
from .lists import ListQuery, ordered_rows

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 1000
# Plain rows from the connection, no ORM objects: fast, nothing piles up in the session.
# The names are those Customer.display_name (id, number, first/last/company name) and
# the reason (reason_key, reason_params, reason_text) read: both take a row like a model.
COLUMNS = (
    Customer.id,
    Customer.number,
    Customer.first_name,
    Customer.last_name,
    Customer.company_name,
    Customer.customer_group,
    Customer.email,
    Company.name.label("company"),
    Case.last_order_at,
    Case.reference_revenue,
    Case.current_revenue,
    Case.decline_pct,
    Case.revenue_at_risk,
    Case.status,
    Case.assigned_user_id,
    Case.remind_at,
    Case.reason_key,
    Case.reason_params,
    Case.reason_text,
)

HEADERS = {
    "de": [
        "Kundennummer", "Name", "Firma", "Kundengruppe", "E-Mail", "Letzte Bestellung",
        "Umsatz vorher", "Umsatz jetzt", "Rückgang %", "Gefährdeter Umsatz", "Status",
        "Zugewiesen an", "Erinnerung", "Grund",
    ],
    "en": [
        "Customer number", "Name", "Company", "Customer group", "Email", "Last order",
        "Revenue before", "Revenue now", "Decline %", "Revenue at risk", "Status",
        "Assigned to", "Reminder", "Reason",
    ],
}  # fmt: skip


def neutralise(text: str) -> str:
    """Prefix an apostrophe so Excel/LibreOffice show the text instead of running it."""
    return "'" + text if text.startswith(FORMULA_START) else text


class CellFormat:
    def __init__(self, lang: str, tz: ZoneInfo):
        self.german = lang == "de"
        self.tz = tz

    def number(self, value: Decimal | float | None) -> str:
        if value is None:
            return ""
        if not isinstance(value, Decimal):  # a float as written (2.675 → 2,68), as Babel does
            value = Decimal(str(value))
        text = f"{value:.2f}"
        return text.replace(".", ",") if self.german else text

    def day(self, value: datetime | None) -> str:
        if value is None:
            return ""
        if self.german:
            return formatting.day(value, "de", self.tz)
        return formatting.local_day(value, self.tz).isoformat()  # English export: ISO dates


def chunks(stmt, size: int = CHUNK_ROWS) -> Iterator[list]:
    """The rows of ``stmt`` as lists of up to ``size`` named tuples, streamed.

    PostgreSQL: the driver's streaming mode (libpq chunked rows) on a plain cursor. The
    server runs the query once and keeps sending while this process formats (the socket
    buffer holds it back when it is ahead), where a server-side cursor would idle
    between FETCHes; and the rows come as the driver makes them (naive UTC times, JSON
    as dicts), without a second pass through SQLAlchemy's result processing. Together
    that halves the time of a 200 000-row export. SQLite: SQLAlchemy's rows, in chunks.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        compiled = stmt.compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        driver = connection.connection.driver_connection
        with driver.cursor(row_factory=namedtuple_row) as cursor:
            rows = cursor.stream(str(compiled), compiled.params, size=size)
            try:
                while chunk := list(islice(rows, size)):
                    yield chunk
            except GeneratorExit:
                # The download was cancelled: the driver cancels the query, which
                # aborts the (read-only) transaction; end it so the session is usable.
                rows.close()
                db.session.rollback()
                raise
        return
    result = connection.execute(stmt.execution_options(yield_per=size))
    as_tuple = namedtuple("ExportRow", result.keys())._make
    for partition in result.partitions():
        yield list(map(as_tuple, partition))


def file_name(title: str, lang: str, today, suffix: str) -> str:
    """``Umsatzrueckgang-2026-12-07.csv`` / ``Revenue-decline-2026-12-07-en.xlsx``: the
    list's ``title`` in the export's language, so two languages never overwrite each other."""
    plain = title.translate(formatting.UMLAUTS).encode("ascii", "ignore").decode()
    slug = "-".join(word for word in _NOT_WORD.split(plain) if word) or "export"
    return f"{slug}-{today:%Y-%m-%d}{'' if lang == 'de' else '-' + lang}.{suffix}"


_NOT_WORD = re.compile(r"[^A-Za-z0-9]+")
_NOT_SHEET = re.compile(r"[\\/*?:\[\]]")  # characters Excel refuses in sheet names


def _table(query: ListQuery, user: User, lang: str, reasons, day, number) -> Iterator[list]:
    """The export's cells, a chunk of rows at a time, with ``day`` and ``number`` making
    the dates and amounts (text for the CSV, values for the workbook)."""
    users = dict(db.session.query(User.id, User.name).all())
    with force_locale(lang):
        statuses = {key: str(text) for key, text in STATUS_LABELS.items()}
    display_name = Customer.display_name.fget
    for chunk in chunks(ordered_rows(query, user, *COLUMNS)):
        yield [
            (
                row.number or "",
                display_name(row),
                row.company or "",
                row.customer_group or "",
                row.email or "",
                day(row.last_order_at),
                number(row.reference_revenue),
                number(row.current_revenue),
                number(row.decline_pct),
                number(row.revenue_at_risk),
                statuses.get(row.status, row.status),
                users.get(row.assigned_user_id) or "",
                day(row.remind_at),
                reason,
            )
            for row, reason in zip(chunk, reasons(chunk, lang), strict=True)
        ]


def rows(query: ListQuery, user: User, lang: str, tz: ZoneInfo, reasons) -> Iterator[str]:
    """Yield the CSV text in chunks: BOM and header first, then CHUNK_ROWS rows at a time.

    ``reasons(rows, lang)`` renders the reasons of a chunk at once (ui.case_reasons).
    """
    fmt = CellFormat(lang, tz)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if fmt.german else ",", lineterminator="\r\n")
    writer.writerow(HEADERS[lang])
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for chunk in _table(query, user, lang, reasons, fmt.day, fmt.number):
        writer.writerows([list(map(neutralise, cells)) for cells in chunk])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


# Column widths (characters) and number formats of the workbook, by column.
_WIDTHS = (14, 28, 22, 16, 28, 14, 14, 14, 11, 16, 16, 18, 12, 60)
_AMOUNT, _PERCENT, _DATE = "#,##0.00", "0.0", {"de": "DD.MM.YYYY", "en": "YYYY-MM-DD"}


def workbook(
    query: ListQuery, user: User, lang: str, tz: ZoneInfo, reasons, title: str, out: IO[bytes]
) -> None:
    """Write the list as an ``.xlsx`` to ``out``: one sheet named ``title``, a bold frozen
    header row, amounts and percentages as numbers, dates as dates (the business's days)."""
    from openpyxl import Workbook  # imported here: only Excel exports pay for it
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_NOT_SHEET.sub(" ", title)[:31] or "Export")
    sheet.freeze_panes = "A2"
    for index, width in enumerate(_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header = []
    for text in HEADERS[lang]:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    formats = {5: _DATE[lang], 12: _DATE[lang], 6: _AMOUNT, 7: _AMOUNT, 8: _PERCENT, 9: _AMOUNT}

    def day(value: datetime | None):
        return None if value is None else formatting.local_day(value, tz)

    def number(value):
        return None if value is None else float(value)

    for chunk in _table(query, user, lang, reasons, day, number):
        for cells in chunk:
            row = []
            for index, value in enumerate(cells):
                if isinstance(value, str):
                    value = neutralise(value)
                cell = WriteOnlyCell(sheet, value=value)
                if index in formats and value is not None:
                    cell.number_format = formats[index]
                row.append(cell)
            sheet.append(row)
    book.save(out)


def spooled(path: Path) -> Iterator[bytes]:
    """The file at ``path`` in blocks, deleted when read to the end (or the download stops)."""
    try:
        with path.open("rb") as handle:
            while block := handle.read(64 * 1024):
                yield block
    finally:
        path.unlink(missing_ok=True)

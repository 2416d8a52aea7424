"""CSV export of exactly the listed cases (Q2), streamed so memory stays flat.

German default: UTF-8 with BOM, ``;`` separator, ``1234,56`` decimals, ``dd.mm.yyyy``
dates. English: ``,`` separator, ``1234.56``, ISO dates. Cells that a spreadsheet
would read as a formula are neutralised with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections import namedtuple
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from itertools import islice
from zoneinfo import ZoneInfo

from psycopg.rows import namedtuple_row

from .. import formatting
from ..extensions import db
from ..models import Case, Company, Customer, User
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


class _Format:
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


def rows(query: ListQuery, user: User, lang: str, tz: ZoneInfo, reasons) -> Iterator[str]:
    """Yield the CSV text in chunks: BOM and header first, then CHUNK_ROWS rows at a time.

    ``reasons(rows, lang)`` renders the reasons of a chunk at once (ui.case_reasons).
    """
    fmt = _Format(lang, tz)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if fmt.german else ",", lineterminator="\r\n")
    users = dict(db.session.query(User.id, User.name).all())
    writer.writerow(HEADERS[lang])
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    display_name = Customer.display_name.fget
    number, day = fmt.number, fmt.day
    for chunk in chunks(ordered_rows(query, user, *COLUMNS)):
        for row, reason in zip(chunk, reasons(chunk, lang), strict=True):
            cells = (
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
                row.status,
                users.get(row.assigned_user_id) or "",
                day(row.remind_at),
                reason,
            )
            writer.writerow(list(map(neutralise, cells)))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()

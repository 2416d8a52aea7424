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
from zoneinfo import ZoneInfo

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
        if not isinstance(value, Decimal):
            value = Decimal(str(value))
        text = f"{value:.2f}"
        return text.replace(".", ",") if self.german else text

    def day(self, value: datetime | None) -> str:
        if value is None:
            return ""
        local = value.astimezone(self.tz)
        return local.strftime("%d.%m.%Y") if self.german else local.date().isoformat()


def rows(query: ListQuery, user: User, lang: str, tz: ZoneInfo, reason) -> Iterator[str]:
    """Yield the CSV text in chunks: BOM and header first, then the rows."""
    fmt = _Format(lang, tz)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if fmt.german else ",", lineterminator="\r\n")
    users = dict(db.session.query(User.id, User.name).all())
    writer.writerow(HEADERS[lang])
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    stmt = ordered_rows(query, user, *COLUMNS).execution_options(yield_per=CHUNK_ROWS)
    result = db.session.connection().execute(stmt)
    # A named tuple reads its fields some 20 times faster than a result row does.
    as_tuple = namedtuple("ExportRow", result.keys())._make
    display_name = Customer.display_name.fget
    for count, row in enumerate(map(as_tuple, result), start=1):
        cells = [
            row.number or "",
            display_name(row),
            row.company or "",
            row.customer_group or "",
            row.email or "",
            fmt.day(row.last_order_at),
            fmt.number(row.reference_revenue),
            fmt.number(row.current_revenue),
            fmt.number(row.decline_pct),
            fmt.number(row.revenue_at_risk),
            row.status,
            users.get(row.assigned_user_id, ""),
            fmt.day(row.remind_at),
            reason(row),
        ]
        writer.writerow([neutralise(str(cell)) for cell in cells])
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()

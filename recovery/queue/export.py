"""CSV export of exactly the listed cases (Q2), streamed so memory stays flat.

German default: UTF-8 with BOM, ``;`` separator, ``1234,56`` decimals, ``dd.mm.yyyy``
dates. English: ``,`` separator, ``1234.56``, ISO dates. Cells that a spreadsheet
would read as a formula are neutralised with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from ..extensions import db
from ..models import User
from .lists import ListQuery, ordered

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 1000

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
        text = f"{Decimal(str(value)):.2f}"
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
    stmt = ordered(query, user).execution_options(yield_per=CHUNK_ROWS)
    for count, case in enumerate(db.session.scalars(stmt), start=1):
        c = case.customer
        cells = [
            c.number or "",
            c.display_name,
            case.company.name if case.company else "",
            c.customer_group or "",
            c.email or "",
            fmt.day(case.last_order_at),
            fmt.number(case.reference_revenue),
            fmt.number(case.current_revenue),
            fmt.number(case.decline_pct),
            fmt.number(case.revenue_at_risk),
            case.status,
            users.get(case.assigned_user_id, ""),
            fmt.day(case.remind_at),
            reason(case),
        ]
        writer.writerow([neutralise(str(cell)) for cell in cells])
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            db.session.expunge_all()  # keep the identity map from growing with the export
    yield buffer.getvalue()

"""CSV / Excel uploads for a file connector: store the file, propose a mapping, import.

A file is stored under ``UPLOAD_FOLDER`` with a generated name (the user's file name
only in a small JSON note beside it), previewed with its detected format, and mapped
to our fields – pre-filled with the mapping saved for files with the same headers, or
the proposal. Confirming saves the mapping for the next file of that shape and starts
the import as a sync job of the connector with this file. The connector validates the
whole file before storing anything, so a bad file is refused whole.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from wawi_connectors import ConnectorError
from wawi_connectors.tabular.mapping import REQUIRED_FIELDS, TARGET_FIELDS

from ..extensions import db
from ..models import ConnectorConfig, JobRun, SavedMapping
from . import SourceError
from .jobs import start_sync
from .texts import said

if TYPE_CHECKING:  # the file connector (pandas) loads on first use, not with the app
    from wawi_connectors.csv_file import Preview

EXTENSIONS = (".csv", ".xlsx")
PREVIEW_ROWS = 10
_TOKEN = re.compile(r"[0-9a-f]{32}")
_SEPARATORS = {";": _l("semicolon (;)"), ",": _l("comma (,)"), "\t": _l("tab")}
# Our fields as German WaWi users name them (the English UI has its own words).
FIELD_LABELS = {
    "customer_number": _l("Customer number"),
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "company_name": _l("Company name (customer)"),
    "email": _l("Email"),
    "phone": _l("Phone"),
    "mobile": _l("Mobile"),
    "city": _l("City"),
    "country": _l("Country"),
    "customer_group": _l("Customer group"),
    "marketing_consent": _l("Marketing consent"),
    "order_number": _l("Order number"),
    "ordered_at": _l("Order date"),
    "company": _l("Company / shop"),
    "state": _l("Order status"),
    "line_type": _l("Position type"),
    "sku": _l("SKU"),
    "product_name": _l("Product name"),
    "product_group": _l("Product group"),
    "quantity": _l("Quantity"),
    "net_amount": _l("Net amount"),
    "gross_amount": _l("Gross amount"),
    "currency": _l("Currency"),
}
# Why the proposal is unsure about a column (``Proposal.hints`` of the file connector).
HINTS = {
    "seller": _l(
        "Chosen by its values: a few names that repeat across many customers, as a seller's do."
    ),
    "customer": _l(
        "Chosen by its values: almost every customer has a name of their own, as customers' "
        "company names do."
    ),
    "unclear": _l(
        "Please check: the first rows do not show whether this column names the seller or "
        "the customers' companies."
    ),
}


class MappingInvalid(SourceError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class Upload:
    token: str
    path: Path
    file_name: str
    connector_id: int


@dataclass(frozen=True)
class MappingProposal:
    preview: Preview
    mapping: dict[str, str]  # target field -> header, what the drop-downs show
    saved: bool  # from a saved mapping (else: proposed from the header names and values)
    hints: dict[str, str]  # target field -> a line on why the proposal is unsure of it
    separator_label: str | None


def _folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_upload(cfg: ConnectorConfig, storage: FileStorage | None) -> Upload:
    """Store an uploaded .csv/.xlsx under a generated name; SourceError if it is not one."""
    original = Path((storage.filename if storage else "") or "").name[-200:]
    suffix = Path(original).suffix.lower()
    if not original:
        raise SourceError(_("Please choose a file."))
    if suffix not in EXTENSIONS:
        raise SourceError(_("Only .csv and .xlsx files can be imported."))
    token = uuid.uuid4().hex
    path = _folder() / f"{token}{suffix}"
    storage.save(path)
    if path.stat().st_size == 0:
        path.unlink()
        raise SourceError(_("The file is empty."))
    note = {"file_name": original, "connector_id": cfg.id, "suffix": suffix}
    (_folder() / f"{token}.json").write_text(json.dumps(note), encoding="utf-8")
    return Upload(token, path, original, cfg.id)


def find_upload(cfg: ConnectorConfig, token: str) -> Upload:
    """The upload ``token`` of this connector; SourceError if there is none."""
    note_path = _folder() / f"{token}.json"
    if not _TOKEN.fullmatch(token) or not note_path.exists():
        raise SourceError(_("This upload does not exist (any more); please upload the file again."))
    note = json.loads(note_path.read_text(encoding="utf-8"))
    path = _folder() / f"{token}{note['suffix']}"
    if note["connector_id"] != cfg.id or not path.exists():
        raise SourceError(_("This upload does not exist (any more); please upload the file again."))
    return Upload(token, path, note["file_name"], cfg.id)


def propose(upload: Upload) -> MappingProposal:
    """Format, first rows and the mapping to show: the saved one for these headers, or a guess."""
    from wawi_connectors.csv_file import preview

    try:
        found = preview(str(upload.path), PREVIEW_ROWS)
    except ConnectorError as exc:
        raise SourceError(_("The file cannot be read: %(reason)s", reason=said(exc))) from None
    saved = db.session.scalar(select(SavedMapping).where(SavedMapping.signature == found.signature))
    headers = set(found.headers)
    mapping = found.mapping
    hints = {t: str(HINTS[reason]) for t, reason in found.hints.items()}
    if saved is not None:  # the user's own choice: nothing to be unsure about
        mapping = {t: h for t, h in saved.mapping.items() if h in headers and t in TARGET_FIELDS}
        hints = {}
    separator = str(_SEPARATORS[found.separator]) if found.separator in _SEPARATORS else None
    return MappingProposal(found, mapping, saved is not None, hints, separator)


def check_mapping(headers: list[str], chosen: dict[str, str]) -> dict[str, str]:
    """The mapping without empty choices; MappingInvalid names each field that is wrong."""
    mapping = {t: h for t, h in chosen.items() if t in TARGET_FIELDS and h}
    errors: dict[str, str] = {}
    for target, header in mapping.items():
        if header not in headers:
            errors[target] = _("This column is not in the file.")
    for target in REQUIRED_FIELDS:
        if target not in mapping:
            errors[target] = _("Required: choose the column that holds it.")
    used: dict[str, str] = {}
    for target, header in mapping.items():
        if header in used:
            errors[target] = _(
                "Column %(column)s is chosen for %(other)s already.",
                column=header,
                other=FIELD_LABELS[used[header]],
            )
        used.setdefault(header, target)
    if errors:
        raise MappingInvalid(errors)
    return mapping


def start_import(
    cfg: ConnectorConfig,
    upload: Upload,
    chosen: dict[str, str],
    user_id: int | None,
    cp1252_rows: bool = False,
) -> JobRun:
    """Save the mapping for files of this shape and import the file as a sync job.

    ``cp1252_rows``: the user confirmed that the rows of a UTF-8 file that are not UTF-8
    be read as Windows-1252 (only those rows; without it the import refuses them).
    """
    proposal = propose(upload)
    mapping = check_mapping(proposal.preview.headers, chosen)
    saved = db.session.scalar(
        select(SavedMapping).where(SavedMapping.signature == proposal.preview.signature)
    )
    if saved is None:
        saved = SavedMapping(signature=proposal.preview.signature)
        db.session.add(saved)
    saved.headers = proposal.preview.headers
    saved.mapping = mapping
    db.session.commit()
    file = {
        "path": str(upload.path),
        "mapping": mapping,
        "file_name": upload.file_name,
        "upload": upload.token,
        "cp1252_rows": bool(cp1252_rows and proposal.preview.foreign_total),
    }
    return start_sync(cfg, full=True, user_id=user_id, file=file)

"""Connector settings from a form: typed values, secrets kept encrypted, URL patterns (D6).

The form is generated from the connector's ``settings_schema``. Secret fields are never
sent back to the browser: an empty input keeps the stored value. Errors are keyed by
field name (``SettingsInvalid.errors``); nothing is saved while there are any.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from wawi_connectors import AuthenticationError, ConnectorError, SettingField, get_connector_class

from ..extensions import db
from ..formatting import UMLAUTS
from ..models import ConnectorConfig
from . import SourceError
from .secrets import decrypt, encrypt
from .sync import build_connector, secret_values
from .texts import said

# Settings another page sets: a file connector's file and mapping come from the upload.
MANAGED = {"csv": frozenset({"path", "mapping", "file_name", "cp1252_rows"})}
# D6: which placeholders each link pattern may use, and what the example fills in.
URL_FIELDS: dict[str, tuple[str, ...]] = {
    "customer_url": ("id", "number"),
    "order_url": ("id", "number"),
    "product_url": ("sku",),
}
EXAMPLE_VALUES = {"id": "4711", "number": "10001", "sku": "ART-100"}
LOOKBACK_RANGE = range(0, 366)
FORM_ERROR = "_settings"  # errors.get(FORM_ERROR): the connector's own check refused
# A connection test should answer within a request's patience.
TEST_OVERRIDES = {"max_retries": 0, "connect_timeout": 5, "read_timeout": 20}


class SettingsInvalid(SourceError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class FieldView:
    """One input of the settings form."""

    name: str
    label: str
    kind: str
    required: bool
    secret: bool
    help: str
    value: Any  # what the input shows; never a secret
    stored: bool = False  # a secret is stored (the input is empty on purpose)


def say(text: str) -> str:
    """A text wawi_connectors marked with ``N_`` (a label, a help), in the reader's words."""
    return _(text) if text else ""


def is_secret(field: SettingField) -> bool:
    return field.secret or field.kind == "password"


def editable_fields(kind: str) -> list[SettingField]:
    managed = MANAGED.get(kind, frozenset())
    return [f for f in get_connector_class(kind).settings_schema if f.name not in managed]


def form_fields(
    kind: str, cfg: ConnectorConfig | None, submitted: Mapping[str, str] | None = None
) -> list[FieldView]:
    """The inputs for ``kind``: submitted values after an error, else the stored ones."""
    stored = dict(cfg.settings or {}) if cfg else {}
    secrets = _stored_secrets(cfg)
    views = []
    for f in editable_fields(kind):
        if is_secret(f):
            value: Any = ""
        elif submitted is not None:
            value = submitted.get(f.name) == "on" if f.kind == "bool" else submitted.get(f.name)
        else:
            value = _display(f, stored.get(f.name, f.default))
        views.append(
            FieldView(
                f.name,
                say(f.label),
                f.kind,
                f.required,
                is_secret(f),
                say(f.help),
                value,
                stored=is_secret(f) and bool(secrets.get(f.name)),
            )
        )
    return views


def _display(field: SettingField, value: Any) -> Any:
    if field.kind == "bool":
        return str(value).lower() in ("true", "1", "yes", "on")
    if field.kind == "json" and value not in (None, ""):
        return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    return "" if value is None else value


def _stored_secrets(cfg: ConnectorConfig | None) -> dict[str, Any]:
    if cfg is None:
        return {}
    try:
        return decrypt(cfg.secrets)
    except SourceError:
        return {}


def _parse(field: SettingField, raw: str | None, errors: dict[str, str]) -> Any:
    """The typed value of one input; None when empty (the connector's default applies)."""
    if field.kind == "bool":
        return raw == "on"
    text = (raw or "").strip()
    if not text:
        return None
    if field.kind == "int":
        try:
            return int(text)
        except ValueError:
            errors[field.name] = _("%(field)s: a whole number, please", field=say(field.label))
    elif field.kind == "url":
        if not re.match(r"https?://[^\s/]+", text):
            errors[field.name] = _(
                "%(field)s: an address starting with https://", field=say(field.label)
            )
    elif field.kind == "json":
        try:
            return json.loads(text)
        except ValueError as exc:
            errors[field.name] = _(
                "%(field)s: not valid JSON (%(reason)s)", field=say(field.label), reason=exc
            )
    return text


def url_example(pattern: str | None, field: str) -> str | None:
    """``pattern`` with example values, as a link into the source would look."""
    if not pattern:
        return None
    try:
        return pattern.format(**{k: EXAMPLE_VALUES[k] for k in URL_FIELDS[field]})
    except (KeyError, IndexError, ValueError):
        return None


def _check_url_pattern(field: str, value: str, errors: dict[str, str]) -> None:
    allowed = URL_FIELDS[field]
    placeholders = ", ".join("{" + p + "}" for p in allowed)
    try:
        names = {name for _text, name, _spec, _conv in string.Formatter().parse(value) if name}
    except ValueError:
        names = {"?"}
    if not re.match(r"https?://[^\s/]+", value):
        errors[field] = _("An address starting with https://, please.")
    elif names - set(allowed):
        errors[field] = _("Only these placeholders are known here: %(names)s", names=placeholders)


def technical_name(label: str, kind: str) -> str:
    """The key stored on every customer and order of a source, from the name the admin
    typed: "WaWi-Export März" → ``wawi-export-maerz``; ``-2``, ``-3`` … if taken."""
    base = re.sub(r"[^a-z0-9]+", "-", label.casefold().translate(UMLAUTS)).strip("-")
    base = (base or kind)[:45].strip("-") or kind
    taken = set(
        db.session.scalars(
            select(ConnectorConfig.name).where(ConnectorConfig.name.like(base + "%"))
        )
    )
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}-{number}"
    return name


def save_connector(
    cfg: ConnectorConfig | None, kind: str, form: Mapping[str, str]
) -> ConnectorConfig:
    """Create (``cfg`` None) or update a connector from form values; commits.

    Raises ``SettingsInvalid`` with errors by field name; then nothing is saved.
    """
    cls = get_connector_class(kind)
    errors: dict[str, str] = {}
    label = None
    if cfg is None:
        label = " ".join((form.get("name") or "").split())
        if not label:
            errors["name"] = _("Name: please enter a name for this data source.")
        elif len(label) > 100:
            errors["name"] = _("Name: at most 100 characters.")
        elif db.session.scalar(
            select(ConnectorConfig.id).where(
                func.lower(func.coalesce(ConnectorConfig.label, ConnectorConfig.name))
                == label.lower()
            )
        ):
            errors["name"] = _("A connector with this name exists already.")
        cfg_name = technical_name(label, kind)
    else:
        cfg_name = cfg.name
    plain: dict[str, Any] = {}
    secrets = _stored_secrets(cfg)
    for field in editable_fields(kind):
        value = _parse(field, form.get(field.name), errors)
        if is_secret(field):
            if value is not None:  # empty: keep the stored secret
                secrets[field.name] = value
        elif value is not None:
            plain[field.name] = value
    for field in MANAGED.get(kind, ()):
        if cfg is not None and field in (cfg.settings or {}):
            plain[field] = cfg.settings[field]
    for field in (f for f in editable_fields(kind) if f.required and f.default is None):
        if field.name not in errors and (plain.get(field.name) or secrets.get(field.name)) is None:
            errors[field.name] = _("%(field)s is required.", field=say(field.label))
    if not errors:
        _check_with_connector(cls, kind, plain, secrets, errors)
    patterns = {}
    for field in URL_FIELDS:
        patterns[field] = (form.get(field) or "").strip() or None
        if patterns[field]:
            _check_url_pattern(field, patterns[field], errors)
    lookback = (form.get("lookback_days") or "").strip()
    if not lookback.isdigit() or int(lookback) not in LOOKBACK_RANGE:
        errors["lookback_days"] = _("Look-back: a number of days from 0 to 365.")
    if errors:
        db.session.rollback()
        raise SettingsInvalid(errors)
    if cfg is None:
        cfg = ConnectorConfig(name=cfg_name, label=label, kind=kind)
        db.session.add(cfg)
    cfg.settings = plain
    cfg.secrets = encrypt(secrets)
    cfg.enabled = form.get("enabled") == "on"
    cfg.lookback_days = int(lookback)
    cfg.customer_url, cfg.order_url, cfg.product_url = (patterns[f] for f in URL_FIELDS)
    db.session.commit()
    return cfg


def _check_with_connector(
    cls, kind: str, plain: dict[str, Any], secrets: dict[str, Any], errors: dict[str, str]
) -> None:
    """Let the connector refuse what it cannot work with (its message names the field)."""
    values = {**plain, **secrets}
    if "path" in MANAGED.get(kind, ()):
        values = {"path": "-", **values}  # the file comes with the upload
    try:
        cls(values).close()
    except ConnectorError as exc:
        errors[FORM_ERROR] = said(exc, secrets.values())


def test_connection(cfg: ConnectorConfig) -> str:
    """Reach the source with the stored settings; the source's text, or SourceError."""
    if "path" in MANAGED.get(cfg.kind, ()) and not (cfg.settings or {}).get("path"):
        raise SourceError(_("Connection test failed: %(reason)s", reason=_("no file yet")))
    fields = {f.name for f in get_connector_class(cfg.kind).settings_schema}
    overrides = {k: v for k, v in TEST_OVERRIDES.items() if k in fields}
    connector = None
    try:
        connector = build_connector(cfg, overrides)
        return said(connector.test_connection(), secret_values(cfg))
    except AuthenticationError as exc:
        # "authentication failed: <detail>": the page says the first part in its own words
        detail = exc.message.params.get("detail", exc.message)
        detail = said(detail, secret_values(cfg)).removeprefix("authentication failed: ")
        raise SourceError(_("Authentication failed: %(detail)s", detail=detail)) from None
    except ConnectorError as exc:
        reason = said(exc, secret_values(cfg))
        raise SourceError(_("Connection test failed: %(reason)s", reason=reason)) from None
    finally:
        if connector is not None:
            connector.close()

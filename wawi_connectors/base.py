"""The connector interface, its settings schema and its errors.

A connector reads one source system and yields canonical records in batches. Each
batch carries the cursor that is valid *after* it, so the caller can store the batch
and the cursor in one transaction and a crash never skips or repeats data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from .records import Limits, Record

FieldKind = Literal["str", "text", "int", "url", "password", "bool", "json"]


def N_(text: str) -> str:
    """Marks a text the app shows for translation; returns it unchanged.

    Connector labels and setting labels and help are English here; the app translates
    them when it shows them (the gettext convention for deferred translation: Babel
    extracts the marked texts, this package stays free of any framework).
    """
    return text


@dataclass(frozen=True, slots=True)
class SettingField:
    """One setting a connector needs; ``secret`` ones are never shown back to users.

    ``label`` and ``help`` are marked with :func:`N_` and translated by the app.
    """

    name: str
    label: str
    kind: FieldKind = "str"
    required: bool = True
    secret: bool = False
    default: Any = None
    help: str = ""


@dataclass(frozen=True, slots=True)
class Batch:
    """Records read in one step, and the cursor to store once they are committed."""

    stream: str
    records: list[Record]
    cursor: str | None


@dataclass(frozen=True, slots=True)
class RowError:
    """A refused row: ``reason`` in English; ``template`` (marked with ``N_``) and
    ``params`` let the app say the same in the reader's language."""

    row: int
    column: str
    reason: str
    template: str = field(default="", compare=False)
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, row: int, column: str, template: str, /, **params: Any) -> RowError:
        return cls(row, column, template % params, template, params)

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"


class ConnectorError(Exception):
    """A connector failed; the message is meant for the user."""


class AuthenticationError(ConnectorError):
    """Credentials were refused; retrying will not help."""


class TransientError(ConnectorError):
    """A fault that may pass (timeout, 429, 5xx, broken page); worth a retry."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ConfigurationError(ConnectorError):
    """The connector's settings are missing or invalid."""


class DataError(ConnectorError):
    """The source's data is unusable; ``errors`` lists row, column and reason."""

    def __init__(self, message: str, errors: list[RowError] | None = None):
        super().__init__(message)
        self.errors: list[RowError] = errors or []


@dataclass(slots=True)
class ReadContext:
    """What the caller tells a connector about one read of one stream.

    ``cursor`` is the stored cursor (None for a full read); ``lookback_since`` asks
    sources without a reliable change date to re-read orders from that time on.
    """

    cursor: str | None = None
    lookback_since: datetime | None = None
    options: dict[str, Any] = field(default_factory=dict)


class Connector(ABC):
    """Base class: declare ``kind``, ``label`` (marked with :func:`N_`), ``settings_schema``
    and ``streams``."""

    kind: ClassVar[str]
    label: ClassVar[str]
    settings_schema: ClassVar[tuple[SettingField, ...]] = ()
    streams: ClassVar[tuple[str, ...]] = ("customers", "orders")
    # Set by the app: what it can store. A connector that validates a whole source
    # before yielding (the file connector) checks lengths and amounts against it.
    limits: Limits | None = None
    # True for a connector that refuses data outside ``limits`` itself, before yielding.
    checks_limits: ClassVar[bool] = False

    def __init__(self, settings: Mapping[str, Any]):
        self.settings = self.validate_settings(settings)

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Fill defaults and refuse missing required settings."""
        values: dict[str, Any] = {}
        missing = []
        for f in cls.settings_schema:
            value = settings.get(f.name, f.default)
            if value in (None, "") and f.required:
                missing.append(f.label)
            values[f.name] = value
        if missing:
            raise ConfigurationError("Missing settings: " + ", ".join(missing))
        return values

    @classmethod
    def secret_fields(cls) -> set[str]:
        return {f.name for f in cls.settings_schema if f.secret}

    @abstractmethod
    def test_connection(self) -> str:
        """Reach the source with the settings; return a short success text or raise."""

    @abstractmethod
    def read(self, stream: str, context: ReadContext) -> Iterator[Batch]:
        """Yield batches of records of ``stream`` after ``context.cursor``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""

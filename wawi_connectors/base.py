"""The connector interface, its settings schema and its errors.

A connector reads one source system and yields canonical records in batches. Each
batch carries the cursor that is valid *after* it, so the caller can store the batch
and the cursor in one transaction and a crash never skips or repeats data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
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


class Message(str):
    """A text for the user: the English text itself (a ``str``), plus the ``N_``-marked
    ``template`` and the ``params`` it was made of, so the app can say it in the reader's
    language: ``Message(N_("Unknown time zone: %(name)s"), name="Mars/Base")``.

    A param that is a ``Message`` (a setting's label) is translated too; a list or tuple
    of texts is joined with ", ".
    """

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, /, **params: Any) -> Message:
        text = super().__new__(cls, _render(template, params, _same))
        text.template = str(template)
        text.params = params
        return text

    def render(
        self, translate: Callable[[str], str], value: Callable[[Any], Any] | None = None
    ) -> str:
        """The text with ``translate`` applied to the template and to each Message param,
        and ``value`` (e.g. a number format) to every other param."""
        return _render(self.template, self.params, translate, value)

    def to_json(self) -> dict[str, Any]:
        return {"template": self.template, "params": _to_json(self.params)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        return cls(data["template"], **_from_json(data.get("params") or {}))

    def __reduce__(self):  # pickling keeps template and params
        return (_message, (self.template, self.params))


def _message(template: str, params: dict[str, Any]) -> Message:
    return Message(template, **params)


def _same(text: str) -> str:
    return text


def _render(
    template: str,
    params: Mapping[str, Any],
    translate: Callable[[str], str],
    value: Callable[[Any], Any] | None = None,
) -> str:
    text = translate(template)
    if not params:
        return text
    return text % {name: _value(v, translate, value) for name, v in params.items()}


def _value(item: Any, translate: Callable[[str], str], value: Callable[[Any], Any] | None) -> Any:
    if isinstance(item, Message):
        return item.render(translate, value)
    if isinstance(item, list | tuple):
        return ", ".join(str(_value(v, translate, value)) for v in item)
    return value(item) if value is not None else item


def _to_json(value: Any) -> Any:
    if isinstance(value, Message):
        return {"$message": value.to_json()}
    if isinstance(value, Mapping):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _from_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        if set(value) == {"$message"}:
            return Message.from_json(value["$message"])
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


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
        return cls(row, column, _render(template, params, _same), template, params)

    @property
    def message(self) -> Message:
        """The reason as a :class:`Message` (a plain text where no template was given)."""
        return Message(self.template, **self.params) if self.template else Message(self.reason)

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"


class ConnectorError(Exception):
    """A connector failed; the message is meant for the user.

    Raise it with an ``N_``-marked template and its values,
    ``ConfigurationError(N_("Unknown time zone: %(name)s"), name=name)``: ``str(exc)`` is
    the English text, ``exc.message`` the :class:`Message` the app translates.
    """

    def __init__(self, message: str, /, **params: Any):
        self.message = message if isinstance(message, Message) else Message(message, **params)
        super().__init__(self.message)


class AuthenticationError(ConnectorError):
    """Credentials were refused; retrying will not help."""


class TransientError(ConnectorError):
    """A fault that may pass (timeout, 429, 5xx, broken page); worth a retry."""

    def __init__(self, message: str, /, *, retry_after: float | None = None, **params: Any):
        super().__init__(message, **params)
        self.retry_after = retry_after


class ConfigurationError(ConnectorError):
    """The connector's settings are missing or invalid."""


class DataError(ConnectorError):
    """The source's data is unusable; ``errors`` lists row, column and reason."""

    def __init__(self, message: str, errors: list[RowError] | None = None, /, **params: Any):
        super().__init__(message, **params)
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
            raise ConfigurationError(
                N_("Missing settings: %(names)s"), names=[Message(label) for label in missing]
            )
        return values

    @classmethod
    def secret_fields(cls) -> set[str]:
        return {f.name for f in cls.settings_schema if f.secret}

    @abstractmethod
    def test_connection(self) -> str:
        """Reach the source with the settings; return a short success text (a
        :class:`Message`) or raise."""

    @abstractmethod
    def read(self, stream: str, context: ReadContext) -> Iterator[Batch]:
        """Yield batches of records of ``stream`` after ``context.cursor``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""

"""Connector texts in the reader's language.

Connectors raise their errors (and return their connection-test texts) as
``wawi_connectors.Message``: the English text, plus the ``N_``-marked template and the
values it was made of. Here they are said in the reader's language, numbers in the
reader's format, and secrets masked. A message that must outlive the request (a failed
job, the sync log) is stored as ``stored(…)`` JSON – its values already masked – and said
when a page shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from flask_babel import format_decimal, gettext

from wawi_connectors import ConnectorError, Message, RowError

from .secrets import redact


def message_of(value: Any) -> Message | None:
    """The Message in ``value``: a Message, a connector error, or the JSON of one."""
    if isinstance(value, Message):
        return value
    if isinstance(value, ConnectorError):
        return value.message
    if isinstance(value, Mapping) and "template" in value:
        return Message.from_json(value)
    return None


def said(value: Any, secrets: Iterable[Any] = ()) -> str:
    """``value`` (see ``message_of``; else its text) in the reader's language, secrets masked."""
    message = message_of(value)
    text = message.render(gettext, _number) if message is not None else str(value)
    return redact(text, list(secrets))


def stored(value: Any, secrets: Iterable[Any] = ()) -> dict[str, Any] | None:
    """The JSON of ``value``'s Message with every text value masked, to keep and say later."""
    message = message_of(value)
    if message is None:
        return None
    return _masked(message, list(secrets)).to_json()


def row_errors_stored(errors: Iterable[RowError], secrets: Iterable[Any] = ()) -> list[dict]:
    """Refused rows as JSON: row, column, the English reason and the reason to say later."""
    secrets = list(secrets)
    return [
        {
            "row": e.row,
            "column": e.column,
            "reason": redact(e.reason, secrets),
            "message": _masked(e.message, secrets).to_json(),
        }
        for e in errors
    ]


def _masked(message: Message, secrets: list[Any]) -> Message:
    return Message(
        message.template, **{k: _masked_value(v, secrets) for k, v in message.params.items()}
    )


def _masked_value(value: Any, secrets: list[Any]) -> Any:
    if isinstance(value, Message):
        return _masked(value, secrets)
    if isinstance(value, list | tuple):
        return [_masked_value(v, secrets) for v in value]
    if isinstance(value, str):
        return redact(value, secrets)
    return value


def _number(value: Any) -> Any:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return format_decimal(value)
    return value

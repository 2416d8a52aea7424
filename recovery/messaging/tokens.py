"""Signed unsubscribe tokens for one-click links that work without login (PRODUCT.md M5).

The token carries the customer id, the channel(s), optionally the message id and, for a
newsletter's message, the newsletter (its link leaves that newsletter). It has no expiry:
a link in an email from last year must still work. ``secret`` may be a list of keys
(oldest first) to rotate the secret without breaking old links.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from itsdangerous import BadData, URLSafeSerializer
from itsdangerous.encoding import base64_encode

from ..models import CHANNELS

SALT = "recovery.unsubscribe"

Secret = str | bytes | Sequence[str | bytes]


class InvalidUnsubscribeToken(ValueError):
    """The token was altered, signed with another secret, or is not ours."""


@dataclass(frozen=True, slots=True)
class UnsubscribeToken:
    customer_id: int
    channels: tuple[str, ...]
    message_id: int | None = None
    newsletter_id: int | None = None


def make_unsubscribe_token(
    secret: Secret,
    customer_id: int,
    channel: str | Iterable[str],
    message_id: int | None = None,
    newsletter_id: int | None = None,
) -> str:
    return UnsubscribeSigner(secret).token(customer_id, channel, message_id, newsletter_id)


# itsdangerous's compact JSON, with one encoder instead of one per call.
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class UnsubscribeSigner:
    """Signs many tokens (a serial message signs one per recipient) in itsdangerous's
    format, which :func:`read_unsubscribe_token` reads: the key is derived and the HMAC
    keyed once, and the payload is never compressed – itsdangerous tries zlib on every
    token, which costs more than the rest and never pays for a payload this short.
    """

    def __init__(self, secret: Secret) -> None:
        signer = _serializer(secret).make_signer()
        self._mac = hmac.new(signer.derive_key(), digestmod=signer.digest_method)
        self._sep = signer.sep

    def token(
        self,
        customer_id: int,
        channel: str | Iterable[str],
        message_id: int | None = None,
        newsletter_id: int | None = None,
    ) -> str:
        channels = _channels((channel,) if isinstance(channel, str) else tuple(channel))
        payload: list[int | str | None] = [int(customer_id), ",".join(channels)]
        if message_id is not None or newsletter_id is not None:
            payload.append(None if message_id is None else int(message_id))
        if newsletter_id is not None:
            payload.append(int(newsletter_id))
        data = base64_encode(_COMPACT_JSON(payload))
        mac = self._mac.copy()
        mac.update(data)
        return (data + self._sep + base64_encode(mac.digest())).decode("ascii")


def read_unsubscribe_token(secret: Secret, token: str) -> UnsubscribeToken:
    """The token's content; :class:`InvalidUnsubscribeToken` if it is not genuine."""
    try:
        payload = _serializer(secret).loads(token)
    except BadData as exc:
        raise InvalidUnsubscribeToken("the unsubscribe link is invalid or was altered") from exc
    if not (isinstance(payload, list) and len(payload) in (2, 3, 4)):
        raise InvalidUnsubscribeToken("the unsubscribe link has an unknown form")
    customer_id, channels, *rest = payload
    message_id, newsletter_id = (*rest, None, None)[:2]
    if not _is_int(customer_id) or not isinstance(channels, str):
        raise InvalidUnsubscribeToken("the unsubscribe link has an unknown form")
    if any(v is not None and not _is_int(v) for v in (message_id, newsletter_id)):
        raise InvalidUnsubscribeToken("the unsubscribe link has an unknown form")
    try:
        parsed = _channels(tuple(channels.split(",")))
    except ValueError as exc:
        raise InvalidUnsubscribeToken(str(exc)) from exc
    return UnsubscribeToken(customer_id, parsed, message_id, newsletter_id)


def _serializer(secret: Secret) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def _channels(channels: tuple[str, ...]) -> tuple[str, ...]:
    unique = tuple(dict.fromkeys(channels))
    if not unique or any(c not in CHANNELS for c in unique):
        raise ValueError(f"channel must be one of {CHANNELS}, got {channels!r}")
    return unique


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

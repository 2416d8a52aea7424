"""Secret connector settings at rest: one Fernet token per connector.

The key is derived from ``SECRET_KEY`` (HKDF-SHA256), so a database dump alone does not
reveal passwords and API keys; keys in ``SECRET_KEY_FALLBACKS`` still decrypt, so the
secret key can be rotated (saving the connector again re-encrypts with the new key).
Values are decrypted only to build a connector and are never sent to a browser.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from wawi_connectors import N_, ConnectorError

from . import SourceError

_SALT = b"recovery/connector-secrets"
_INFO = b"fernet-v1"
MASK = "•••"


class SecretsUnreadable(SourceError, ConnectorError):
    """The stored secrets were encrypted with a key this app no longer has."""


def _fernet_key(secret_key: str | bytes) -> bytes:
    raw = secret_key.encode() if isinstance(secret_key, str) else secret_key
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(raw)
    return base64.urlsafe_b64encode(derived)


def _fernet() -> MultiFernet:
    keys = [
        current_app.config["SECRET_KEY"],
        *(current_app.config.get("SECRET_KEY_FALLBACKS") or []),
    ]
    return MultiFernet([Fernet(_fernet_key(k)) for k in keys if k])


def encrypt(values: Mapping[str, Any]) -> str | None:
    """A token holding ``values`` (None when there is nothing to keep)."""
    kept = {k: v for k, v in values.items() if v not in (None, "")}
    if not kept:
        return None
    return _fernet().encrypt(json.dumps(kept, sort_keys=True).encode()).decode()


def decrypt(token: str | None) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise SecretsUnreadable(
            N_(
                "The stored secret settings cannot be decrypted (was SECRET_KEY changed?); "
                "enter them again in the connector's settings."
            )
        ) from None


def redact(text: str, secrets: Iterable[Any]) -> str:
    """``text`` with every secret value (also URL-encoded) replaced by a mask."""
    for value in secrets:
        value = str(value or "")
        if len(value) < 4:
            continue
        for form in {value, quote(value, safe=""), quote_plus(value)}:
            text = text.replace(form, MASK)
    return text

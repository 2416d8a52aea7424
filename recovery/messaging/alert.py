"""The admin's warning that sending stopped: the provider refused the key or the sender.

Stored as a ``Setting`` row, so every web process and worker sees the same state. The
worker raises it when a send ends ``rejected`` with ``halt`` (``transport.py``) and
clears it when a later send is accepted; an admin can dismiss it by hand.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import Setting, utcnow

KEY = "messaging.sending_stopped"


def raise_alert(
    source: str, code: str | None, text: str | None, now: datetime | None = None
) -> None:
    """Store why sending through ``source`` (email, or an SMS provider) stopped; the
    caller commits."""
    at = (now or utcnow()).isoformat()
    Setting.write(KEY, {"source": source, "code": code or "", "text": text or "", "at": at}, None)


def clear(source: str | None = None, user_id: int | None = None) -> None:
    """Take the warning down if one stands (for ``source`` only, when given); the caller
    commits."""
    standing = Setting.read(KEY)
    if standing and source in (None, standing.get("source")):
        Setting.write(KEY, {}, user_id)


def current() -> dict[str, Any] | None:
    """The standing warning (``code``, ``text``, ``at``), or None."""
    return Setting.read(KEY) or None

"""Known browsers ("device cookies", OWASP): a signed cookie naming the addresses that
logged in from this browser. The throttle per address spares them, so guessing a
password from elsewhere cannot lock the owner out of their own browser."""

from __future__ import annotations

import hashlib

from flask import Response, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

COOKIE = "recovery_device"
SALT = "recovery.device"
KEEP = 5  # addresses per browser (a shared office computer)


def knows(email: str) -> bool:
    return _tag(email) in _tags()


def remember(response: Response, email: str) -> None:
    tags = [_tag(email), *(t for t in _tags() if t != _tag(email))][:KEEP]
    days = current_app.config["LOGIN_DEVICE_DAYS"]
    response.set_cookie(
        COOKIE,
        _serializer().dumps(tags),
        max_age=days * 86400,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


def _tags() -> list[str]:
    value = request.cookies.get(COOKIE)
    if not value:
        return []
    try:
        tags = _serializer().loads(value, max_age=current_app.config["LOGIN_DEVICE_DAYS"] * 86400)
    except BadData:
        return []
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _tag(email: str) -> str:
    """The address is not readable from the cookie, only recognised."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:24]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)

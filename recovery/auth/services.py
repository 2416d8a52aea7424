"""Authentication: the password check, throttling by client and by address, and the
record of failed logins.

Nothing locks an account: too many failures from one client (IP address) refuse that
client, and too many failures for one address refuse it only to browsers that have not
logged in to it before (:mod:`.devices`), so the owner's own browser still gets in. An
unknown address costs the same password hash and gets the same answer as a wrong
password. The counters are rows in the database, so every gunicorn worker and process
sees the same numbers.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..accounts import MIN_PASSWORD_LENGTH
from ..extensions import db
from ..models import FailedLogin, User, utcnow
from ..throttling import wait_seconds


class LoginRefused(Exception):
    pass


class LoginThrottled(LoginRefused):
    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


def authenticate(email: str, password: str, ip: str, known_device: bool = False) -> User:
    """The user, or :class:`LoginRefused` (:class:`LoginThrottled` when over a limit).

    ``known_device``: this browser logged in to this address before; the limit per
    address does not apply to it.
    """
    address = email.strip().lower()
    now = utcnow()
    _throttle(address, ip, known_device, now)
    user = db.session.scalar(select(User).where(func.lower(User.email) == address))
    # The hash runs for unknown addresses too: the same answer in about the same time.
    correct = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if not (correct and user is not None and user.is_active):
        db.session.add(FailedLogin(email=address, ip=ip, user_id=user.id if user else None))
        db.session.commit()
        raise LoginRefused()
    user.last_login_at = now
    db.session.commit()
    return user


def _throttle(address: str, ip: str, known_device: bool, now: datetime) -> None:
    config = current_app.config
    window = timedelta(minutes=config["LOGIN_WINDOW_MINUTES"])
    limits = [(FailedLogin.ip == ip, config["LOGIN_LIMIT_PER_CLIENT"])]
    if not known_device:
        limits.append((FailedLogin.email == address, config["LOGIN_LIMIT_PER_ACCOUNT"]))
    for where, limit in limits:
        # refused until the oldest of them leaves the window
        wait = wait_seconds(FailedLogin.created_at, where, limit, window, now)
        if wait:
            raise LoginThrottled(wait)


@cache
def _dummy_hash() -> str:
    """A hash made the way real ones are, of a password nobody knows."""
    return generate_password_hash(secrets.token_urlsafe(16))


def end_sessions(user: User) -> None:
    """Log the user out everywhere: every session and remember-me cookie stops working."""
    user.end_sessions()
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password (which ends the user's other sessions); :class:`LoginRefused`
    when ``current`` is wrong."""
    if not user.check_password(current):
        raise LoginRefused()
    if len(new) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.set_password(new)
    db.session.commit()

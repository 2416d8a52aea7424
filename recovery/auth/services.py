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

import math
import secrets
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import FailedLogin, User, utcnow

MIN_PASSWORD_LENGTH = 8


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
        recent = db.session.scalars(
            select(FailedLogin.created_at)
            .where(where, FailedLogin.created_at >= now - window)
            .order_by(FailedLogin.created_at.desc())
            .limit(limit)
        ).all()
        if len(recent) >= limit:  # refused until the oldest of them leaves the window
            wait = (recent[-1] + window - now).total_seconds()
            raise LoginThrottled(max(1, math.ceil(wait)))


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


def create_user(email: str, name: str, password: str, role: str, **fields) -> User:
    if role not in ("admin", "sales"):
        raise ValueError(f"unknown role: {role}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    email = email.strip().lower()
    if db.session.scalar(select(User).where(func.lower(User.email) == email)):
        raise ValueError(f"a user with the email {email} exists already")
    user = User(email=email, name=name, role=role, **fields)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


class LastAdmin(ValueError):
    """The change would leave no active admin."""


def generated_password() -> str:
    """A password an admin hands over once (about 96 bits, no look-alike characters)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def _other_active_admins(user: User) -> int:
    return db.session.scalar(
        select(func.count(User.id)).where(
            User.role == "admin", User.is_active_user.is_(True), User.id != user.id
        )
    )


def update_user(user: User, *, name: str, role: str, company_id: int | None, active: bool) -> None:
    """Change a user as an admin does; :class:`LastAdmin` if no active admin would be
    left. A deactivated user is logged out everywhere at once; commits."""
    if role not in ("admin", "sales"):
        raise ValueError(f"unknown role: {role}")
    still_admin = role == "admin" and active
    if user.role == "admin" and user.is_active_user and not still_admin:
        # row lock (PostgreSQL): two admins demoting each other at once cannot both win
        db.session.execute(select(User.id).where(User.role == "admin").with_for_update()).all()
        if _other_active_admins(user) == 0:
            db.session.rollback()
            raise LastAdmin()
    if user.is_active_user and not active:
        user.end_sessions()
    user.name, user.role, user.is_active_user = name, role, active
    user.company_id = company_id if role == "sales" else None
    db.session.commit()


def reset_password(user: User) -> str:
    """A new generated password for ``user`` (shown once); their sessions end; commits."""
    password = generated_password()
    user.set_password(password)  # which ends the user's sessions
    db.session.commit()
    return password

"""Authentication with a lock after repeated failures (login throttling)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..models import User, utcnow


class LoginRefused(Exception):
    pass


class AccountLocked(LoginRefused):
    pass


def authenticate(email: str, password: str) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    now = utcnow()
    if user is not None and user.locked_until and user.locked_until > now:
        raise AccountLocked()
    if user is None or not user.is_active or not user.check_password(password):
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
                minutes = current_app.config["LOGIN_LOCK_MINUTES"]
                user.locked_until = now + timedelta(minutes=minutes)
                user.failed_logins = 0
            db.session.commit()
        raise LoginRefused()
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.commit()
    return user


def create_user(email: str, name: str, password: str, role: str, **fields) -> User:
    if role not in ("admin", "sales"):
        raise ValueError(f"unknown role: {role}")
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    email = email.strip().lower()
    if db.session.scalar(select(User).where(func.lower(User.email) == email)):
        raise ValueError(f"a user with the email {email} exists already")
    user = User(email=email, name=name, role=role, **fields)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user

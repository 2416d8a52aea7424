"""User accounts as an admin and the command line manage them: create, change role and
company restriction, deactivate (never delete: the history keeps the name), reset a
password. Used by Admin → Users and ``flask recovery create-user``; the login itself is
``auth.services``."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from .extensions import db
from .models import User

MIN_PASSWORD_LENGTH = 8


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

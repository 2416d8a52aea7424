"""Users with roles ``admin`` and ``sales`` and an optional company restriction, and the
failed logins (throttling and the action log)."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from typing import TypeVar

from flask_login import UserMixin
from sqlalchemy import ColumnElement, Executable, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .company import Company
from .types import UTCDateTime, utcnow

ROLES = ("admin", "sales")

Statement = TypeVar("Statement", bound=Executable)


def restrict_to_company(stmt: Statement, column: ColumnElement, company) -> Statement:
    """The company restriction (the one place that applies it): ``stmt`` limited to rows
    whose ``column`` (a company id: a case's, an order's, a message's) is ``company``.

    ``company`` is a user's ``company_id``, or a bind parameter standing for it in a
    statement built once; None (a user who sees every company) leaves ``stmt`` as it
    is. Rows of no company are hidden from a restricted user too.
    """
    return stmt if company is None else stmt.where(column == company)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(10), default="sales")
    locale: Mapped[str] = mapped_column(String(5), default="de")
    # A sales user restricted to one company sees only that company's cases.
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"))
    is_active_user: Mapped[bool] = mapped_column(default=True)
    # Part of every session and remember-me cookie (get_id); a new one ends them all.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    company: Mapped[Company | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.is_active_user

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def get_id(self) -> str:
        """Flask-Login's alternative id: the session token makes it change on logout."""
        return f"{self.id}:{self.session_token}"

    def has_session_token(self, token: str) -> bool:
        return hmac.compare_digest(self.session_token.encode(), token.encode())

    def end_sessions(self) -> None:
        """Every session and remember-me cookie of this user stops working."""
        self.session_token = new_session_token()

    def restrict(self, stmt: Statement, column: ColumnElement) -> Statement:
        """``stmt`` limited to this user's company (see :func:`restrict_to_company`)."""
        return restrict_to_company(stmt, column, self.company_id)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class FailedLogin(db.Model):
    """One refused password (never the password itself): counted for throttling by
    client and by address, and listed in the action log."""

    __tablename__ = "failed_login"
    __table_args__ = (
        Index("ix_failed_login_email_created_at", "email", "created_at"),
        Index("ix_failed_login_ip_created_at", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The address as typed (lower case), also when no user has it.
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(45))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )

    user: Mapped[User | None] = relationship()

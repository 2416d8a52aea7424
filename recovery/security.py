"""Login manager, role checks and safe redirects."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, abort, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.middleware.proxy_fix import ProxyFix

from .extensions import db, login_manager

PUBLIC_ENDPOINTS = {"auth.login", "static", "health.healthz"}


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(alternative_id: str):
        """``<id>:<session token>`` (User.get_id); an old or rotated token is no login."""
        from .models import User

        user_id, _, token = alternative_id.partition(":")
        if not (token and user_id.isascii() and user_id.isdigit() and len(user_id) < 19):
            return None
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.has_session_token(token) else None

    if app.config.get("TRUSTED_PROXY_COUNT"):
        # The client's address (login throttling) and scheme as the proxies saw them.
        count = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)

    @app.before_request
    def reads_without_transaction():
        # Registered before require_login, so the user is loaded on this connection too.
        view = app.view_functions.get(request.endpoint or "")
        if request.method == "GET" and getattr(view, "reads_only", False):
            db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    @app.before_request
    def require_login():
        # Login everywhere except the public pages: a new route cannot forget it.
        endpoint = request.endpoint or ""
        if endpoint in PUBLIC_ENDPOINTS or endpoint.startswith("public."):
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return None

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'self'",
        )
        return response


def reads_only(view):
    """Mark a GET view that only reads: its statements run without a transaction.

    A page viewed all day (the queue's tiles and lists) then saves the BEGIN and the
    ROLLBACK around its few SELECTs – two of its six round trips to the database. The
    connection gets its usual isolation level back when it returns to the pool.
    """
    view.reads_only = True
    return view


def admin_required(view):
    """Refuse everyone but admins, on the server."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def safe_next(target: str | None) -> str | None:
    """Return ``target`` if it is a path on this site, else None."""
    if not target:
        return None
    target = target.strip().replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target

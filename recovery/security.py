"""Login manager, role checks and safe redirects."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from .extensions import db, login_manager
from .models.types import DB_INT_MAX, whole_number

PUBLIC_ENDPOINTS = {"auth.login", "auth.set_locale", "favicon", "static", "health.healthz"}


class DatabaseInt(IntegerConverter):
    """``<int:…>`` in a URL: an id past what the database holds is no page (404), not a
    statement the database refuses (500)."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


def install_converters(app: Flask) -> None:
    """Before the blueprints are registered: their rules are built with these."""
    app.url_map.converters["int"] = DatabaseInt


def _refuse_nul_bytes() -> None:
    """No text with a NUL byte reaches a query or a column: PostgreSQL refuses it (a
    500, or an export that breaks off), SQLite cuts the text there."""
    for source in (request.args, request.form if request.method == "POST" else {}):
        for name, value in source.items(multi=True) if source else ():
            if "\x00" in value or "\x00" in name:
                raise BadRequest(_("The value of '%(name)s' holds a NUL byte.", name=name[:50]))


def int_arg(name: str, default: int | None = None) -> int | None:
    """A whole-number query argument: ``default`` when it is absent or no whole number
    (as before), a 400 naming it when it is larger than the database holds."""
    try:
        value = whole_number(request.args.get(name))
    except ValueError:
        raise BadRequest(_("The value of '%(name)s' is too large.", name=name)) from None
    return default if value is None else value


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

    app.before_request(_refuse_nul_bytes)

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
        if "Content-Security-Policy" not in response.headers:
            # A view with its own policy says there who may frame it (frame-ancestors):
            # the newsletter form for an iframe on the merchant's site.
            response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'self'",
        )
        if app.config.get("HSTS"):
            response.headers.setdefault("Strict-Transport-Security", app.config["HSTS"])
        if request.endpoint != "static":
            # Pages and exports carry customers' data: no browser or proxy keeps a copy
            # (the back button after logout, a shared computer, a caching proxy).
            response.headers.setdefault("Cache-Control", "no-store")
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
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):  # a line break, a tab, …
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target

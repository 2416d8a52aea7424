"""Public pages without login: the unsubscribe link, Mailjet's event webhook and the
newsletter sign-up form with its confirmation link."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from . import newsletter, routes, webhook  # noqa: E402,F401  (they register their routes on bp)

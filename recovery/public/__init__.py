"""Public pages without login: the unsubscribe link and Mailjet's event webhook."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from . import routes, webhook  # noqa: E402,F401  (they register their routes on bp)

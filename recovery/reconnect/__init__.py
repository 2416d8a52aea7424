"""ReConnect: overdue customers per product group."""

from flask import Blueprint

bp = Blueprint("reconnect", __name__)

from . import routes  # noqa: E402,F401  (registers the routes on bp)

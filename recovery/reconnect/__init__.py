"""ReConnect: overdue customers per product group."""

from flask import Blueprint

bp = Blueprint("reconnect", __name__)

from . import reminder_routes, routes  # noqa: E402,F401  (registers the routes on bp)

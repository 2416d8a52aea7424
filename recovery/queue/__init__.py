"""The recovery queue: tiles, lists, the case page and its buttons (thin routes)."""

from flask import Blueprint

bp = Blueprint("queue", __name__)

from . import routes  # noqa: E402,F401  (registers the routes on bp)

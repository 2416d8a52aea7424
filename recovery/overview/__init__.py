"""The owner's overview: what came back, per month and per user."""

from flask import Blueprint

bp = Blueprint("overview", __name__)

from . import routes  # noqa: E402,F401  (registers the routes on bp)

"""Customer groups as the source system names them (G5), with counts and links."""

from flask import Blueprint

bp = Blueprint("groups", __name__)

from . import routes, serial_routes  # noqa: E402,F401  (registers the routes on bp)

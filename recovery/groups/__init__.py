"""Customer groups (G1, G3, G5): the merchant's own groups by rule and by hand, their
members, and the customer groups as the source system names them."""

from flask import Blueprint

bp = Blueprint("groups", __name__)

from . import routes, serial_routes  # noqa: E402,F401  (registers the routes on bp)

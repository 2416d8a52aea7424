"""Admin pages; every route refuses non-admins on the server."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import (  # noqa: E402,F401  (they register their routes on bp)
    analysis,
    connectors,
    logins,
    messaging,
    newsletters,
    routes,
    users,
)

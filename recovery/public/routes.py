"""Public pages without login: the one-click unsubscribe link (M5)."""

from __future__ import annotations

from flask import abort, render_template
from flask_babel import force_locale

from ..extensions import csrf
from ..messaging.unsubscribe import InvalidLink, unsubscribe_by_token
from . import bp


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click POSTs come from mail clients without our token
def unsubscribe(token: str):
    try:
        customer, channels = unsubscribe_by_token(token)
    except InvalidLink:
        abort(404)
    # The confirmation speaks the customer's language, not the visitor's browser's.
    with force_locale(customer.locale or "de"):
        return render_template("public/unsubscribed.html", channels=channels)

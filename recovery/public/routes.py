"""Public pages without login: the unsubscribe link (M5)."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import force_locale

from ..extensions import csrf
from ..messaging.unsubscribe import InvalidLink, leave_newsletter, read_link, unsubscribe
from . import bp


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"], endpoint="unsubscribe")
@csrf.exempt  # the signed link is the token; RFC 8058 one-click POSTs come without ours
def unsubscribe_link(token: str):
    """GET (and HEAD) ask with one button; only a POST – the button, or a mail client's
    one-click POST (RFC 8058) – unsubscribes. Link scanners only look.

    The link of a newsletter's message leaves that newsletter (the button and the
    one-click POST); a second button (``scope=all``) stops all marketing mail."""
    try:
        link = read_link(token)
    except InvalidLink:
        abort(404)
    done = None
    if request.method == "POST":
        if link.newsletter is not None and request.form.get("scope") != "all":
            leave_newsletter(link)
            done = "newsletter"
        else:
            unsubscribe(link)
            done = "all"
    # The page speaks the customer's language, not the visitor's browser's.
    with force_locale(link.customer.locale or "de"):
        html = render_template(
            "public/unsubscribed.html" if done else "public/unsubscribe.html",
            link=link,
            done=done,
        )
    return html, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}

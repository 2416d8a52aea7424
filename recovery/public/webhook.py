"""``POST /p/mailjet/events``: Mailjet's event webhook (PRODUCT.md M6).

Authenticated with HTTP basic auth (MAILJET_WEBHOOK_USER / MAILJET_WEBHOOK_PASSWORD,
the pair put into the URL configured at Mailjet). Stores the post whole, answers 200;
the worker processes the events (``recovery.messaging.webhook``).
"""

from __future__ import annotations

from flask import Response, current_app, jsonify, request

from ..extensions import csrf
from ..messaging import webhook
from ..messaging.options import MessagingOptions
from . import bp


@bp.post("/mailjet/events")
@csrf.exempt  # Mailjet cannot send our CSRF token; basic auth guards this endpoint
def mailjet_events():
    auth = request.authorization
    options = MessagingOptions.from_config(current_app.config)
    if auth is None or not webhook.authorised(auth.username, auth.password, options):
        return Response(
            "authentication required\n",
            401,
            {"WWW-Authenticate": 'Basic realm="mailjet-events"', "Content-Type": "text/plain"},
        )
    try:
        post = webhook.receive(request.get_data())
    except webhook.BadPayload as exc:
        return Response(f"{exc}\n", 400, {"Content-Type": "text/plain"})
    return jsonify(received=post.events)

"""Admin pages; every route refuses non-admins on the server."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select

from ..extensions import db
from ..messaging.outbox import offline
from ..models import MESSAGE_STATES, Message
from ..security import admin_required

bp = Blueprint("admin", __name__)

PAGE = 50


@bp.get("/")
@admin_required
def index():
    return render_template("admin/index.html")


@bp.get("/outbox")
@admin_required
def outbox():
    state = request.args.get("state") or None
    page = max(request.args.get("page", 1, type=int), 1)
    stmt = select(Message)
    if state in MESSAGE_STATES:
        stmt = stmt.where(Message.state == state)
    total = db.session.scalar(stmt.with_only_columns(func.count(Message.id)))
    messages = db.session.scalars(
        stmt.order_by(Message.created_at.desc(), Message.id.desc())
        .limit(PAGE)
        .offset((page - 1) * PAGE)
    ).all()
    return render_template(
        "admin/outbox.html",
        messages=messages,
        state=state,
        states=MESSAGE_STATES,
        page=page,
        pages=max((total + PAGE - 1) // PAGE, 1),
        offline=offline(),
    )


@bp.get("/outbox/<int:message_id>")
@admin_required
def message(message_id: int):
    msg = db.session.get(Message, message_id)
    if msg is None:
        abort(404)
    return render_template("admin/message.html", message=msg)

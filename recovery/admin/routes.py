"""The admin home and the action log (Q7)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import CaseEvent, User, business_tz
from ..security import admin_required
from . import bp

PAGE = 50


@bp.get("/")
@admin_required
def index():
    return render_template("admin/index.html")


@bp.get("/actions")
@admin_required
def action_log():
    """Every action on every case, filtered by user and date (Q7)."""
    user_id = request.args.get("user", type=int)
    start = _date_arg("from")
    end = _date_arg("to")
    page = max(request.args.get("page", 1, type=int), 1)
    stmt = select(CaseEvent).where(CaseEvent.user_id.is_not(None))
    if user_id:
        stmt = stmt.where(CaseEvent.user_id == user_id)
    tz = business_tz()
    if start:
        stmt = stmt.where(CaseEvent.created_at >= datetime.combine(start, time.min, tz))
    if end:
        stmt = stmt.where(
            CaseEvent.created_at < datetime.combine(end + timedelta(days=1), time.min, tz)
        )
    total = db.session.scalar(stmt.with_only_columns(func.count(CaseEvent.id)))
    events = db.session.scalars(
        stmt.options(selectinload(CaseEvent.user), selectinload(CaseEvent.case))
        .order_by(CaseEvent.created_at.desc(), CaseEvent.id.desc())
        .limit(PAGE)
        .offset((page - 1) * PAGE)
    ).all()
    return render_template(
        "admin/actions.html",
        events=events,
        users=db.session.scalars(select(User).order_by(User.name)).all(),
        args={"user": user_id, "from": request.args.get("from"), "to": request.args.get("to")},
        page=page,
        pages=max((total + PAGE - 1) // PAGE, 1),
        total=total,
    )


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None

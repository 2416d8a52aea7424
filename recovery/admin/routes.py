"""The admin home and the action log (Q7)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import render_template, request
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import BadRequest

from ..extensions import db
from ..models import CaseEvent, User, business_tz
from ..security import admin_required, int_arg
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
    user_id = int_arg("user")
    start = _date_arg("from")
    end = _date_arg("to")
    page = max(int_arg("page", 1), 1)
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


# Dates a filter takes: a day after the last one or before the first would not be a
# time the database (or Python) can hold once the time zone is applied.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)


def _date_arg(name: str) -> date | None:
    try:
        day = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadRequest(
            _(
                "The date in '%(name)s' must lie in the years %(first)s to %(last)s.",
                name=name,
                first=FIRST_DAY.year,
                last=LAST_DAY.year,
            )
        )
    return day

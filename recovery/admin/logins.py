"""Failed logins, beside the action log: who tried which address from where (#13.4)."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import FailedLogin
from ..security import admin_required
from . import bp

PAGE = 50


@bp.get("/actions/logins")
@admin_required
def failed_logins():
    total = db.session.scalar(select(func.count(FailedLogin.id)))
    pages = max((total + PAGE - 1) // PAGE, 1)
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    attempts = db.session.scalars(
        select(FailedLogin)
        .options(selectinload(FailedLogin.user))
        .order_by(FailedLogin.created_at.desc(), FailedLogin.id.desc())
        .limit(PAGE)
        .offset((page - 1) * PAGE)
    ).all()
    return render_template(
        "admin/failed_logins.html", attempts=attempts, page=page, pages=pages, total=total
    )

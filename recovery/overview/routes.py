"""The owner's view: how many customers are at risk, how many came back, what they brought."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from ..extensions import db
from ..models import Case, utcnow
from ..queue.casepage import MonthBar, _months_back

bp = Blueprint("overview", __name__)


@bp.get("/")
def index():
    scope = select(Case).where(Case.kind == "decline")
    if current_user.company_id is not None:
        scope = scope.where(Case.company_id == current_user.company_id)
    cases = scope.subquery()
    by_status = dict(
        db.session.execute(select(cases.c.status, func.count()).group_by(cases.c.status))
        .tuples()
        .all()
    )
    at_risk = db.session.scalar(
        select(func.coalesce(func.sum(cases.c.revenue_at_risk), 0)).where(
            cases.c.closed_at.is_(None)
        )
    )
    since = utcnow() - timedelta(days=366)
    recovered = db.session.execute(
        select(cases.c.recovered_at, cases.c.recovered_revenue).where(
            cases.c.status == "recovered", cases.c.recovered_at >= since
        )
    ).all()
    months = _months_back(utcnow().date(), 12)
    totals = {m: 0 for m in months}
    for when, revenue in recovered:
        key = when.date().replace(day=1)
        if key in totals:
            totals[key] += revenue or 0
    peak = max(totals.values(), default=0) or 1
    chart = [MonthBar(m, totals[m], float(totals[m]) / float(peak) * 100) for m in months]
    recovered_total = db.session.scalar(
        select(func.coalesce(func.sum(cases.c.recovered_revenue), 0))
    )
    return render_template(
        "overview/index.html",
        by_status=by_status,
        at_risk=at_risk,
        chart=chart,
        recovered_total=recovered_total,
        open_count=sum(
            by_status.get(s, 0) for s in ("new", "reminder", "contacted", "offer_requested")
        ),
    )

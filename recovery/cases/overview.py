"""The owner's figures: how many customers are at risk, how many came back, what they brought."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from ..extensions import db
from ..formatting import local_day
from ..models import (
    OPEN_STATUSES,
    Case,
    CaseStatus,
    GroupMember,
    User,
    business_tz,
    utcnow,
)
from .lists import visible_cases
from .page import MonthBar, months_back


@dataclass
class OwnerFigures:
    by_status: dict[str, int]  # decline cases per status
    open_count: int
    at_risk: Decimal  # revenue at risk of the open cases
    chart: list[MonthBar]  # recovered revenue per month, the last 12 months
    recovered_total: Decimal


def owner_figures(user: User, group: int | None = None) -> OwnerFigures:
    """The figures of the cases the user sees; of one group's members when ``group``."""
    cases = visible_cases(user)
    if group is not None:
        members = select(GroupMember.customer_id).where(GroupMember.group_id == group)
        cases = cases.where(Case.customer_id.in_(members))
    cases = cases.subquery()
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
            cases.c.status == CaseStatus.RECOVERED, cases.c.recovered_at >= since
        )
    ).all()
    tz = business_tz()
    months = months_back(local_day(utcnow(), tz), 12)
    totals = {m: 0 for m in months}
    for when, revenue in recovered:
        key = local_day(when, tz).replace(day=1)
        if key in totals:
            totals[key] += revenue or 0
    peak = max(totals.values(), default=0) or 1
    chart = [MonthBar(m, totals[m], float(totals[m]) / float(peak) * 100) for m in months]
    recovered_total = db.session.scalar(
        select(func.coalesce(func.sum(cases.c.recovered_revenue), 0))
    )
    return OwnerFigures(
        by_status=by_status,
        open_count=sum(by_status.get(s, 0) for s in OPEN_STATUSES),
        at_risk=at_risk,
        chart=chart,
        recovered_total=recovered_total,
    )

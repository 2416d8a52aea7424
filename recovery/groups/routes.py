"""Customer groups as the source system names them, with their customers and open cases."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from sqlalchemy import func, select

from ..extensions import db
from ..models import Case, CaseKind, CaseStatus, Customer, Order
from . import bp


@bp.get("/")
def index():
    counted = select(Customer.customer_group, func.count(Customer.id))
    if current_user.company_id is not None:
        # a restricted user counts the customers who bought from their company
        bought = current_user.restrict(select(Order.customer_id), Order.company_id)
        counted = counted.where(Customer.id.in_(bought))
    grouped = counted.group_by(Customer.customer_group)
    customers = dict(db.session.execute(grouped).tuples().all())
    cases = (
        select(
            Customer.customer_group,
            func.count(Case.id),
            func.coalesce(func.sum(Case.revenue_at_risk), 0),
        )
        .join(Case.customer)
        .where(Case.kind == CaseKind.DECLINE, Case.status == CaseStatus.NEW)
        .group_by(Customer.customer_group)
    )
    cases = current_user.restrict(cases, Case.company_id)
    open_cases = {g: (n, risk) for g, n, risk in db.session.execute(cases)}
    rows = [
        {
            "group": group,
            "customers": count,
            "cases": open_cases.get(group, (0, 0))[0],
            "at_risk": open_cases.get(group, (0, 0))[1],
        }
        for group, count in sorted(customers.items(), key=lambda kv: -kv[1])
    ]
    return render_template("groups/index.html", rows=rows)

"""ReConnect (R1): overdue customers per product group, reachable or not."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from sqlalchemy import and_, case, exists, func, select

from ..extensions import db
from ..models import Case, CaseKind, Customer, DoNotContact, ProductGroup
from . import bp


@bp.get("/")
def overview():
    blocked = exists().where(
        and_(DoNotContact.customer_id == Customer.id, DoNotContact.channel == "email")
    )
    reachable = and_(
        Customer.email.is_not(None), Customer.marketing_consent.is_not(False), ~blocked
    )
    stmt = (
        select(
            ProductGroup.name,
            func.count(Case.id),
            func.sum(case((reachable, 1), else_=0)),
        )
        .join(Case, Case.product_group_id == ProductGroup.id)
        .join(Customer, Customer.id == Case.customer_id)
        .where(Case.kind == CaseKind.OVERDUE, Case.closed_at.is_(None))
        .group_by(ProductGroup.name)
        .order_by(func.count(Case.id).desc())
    )
    stmt = current_user.restrict(stmt, Case.company_id)
    rows = [
        {"group": name, "overdue": total, "reachable": int(ok or 0)}
        for name, total, ok in db.session.execute(stmt)
    ]
    return render_template("reconnect/overview.html", rows=rows)

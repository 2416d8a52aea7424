"""Writing the analysis's cases (set-wise: staged, then UPDATE … FROM / INSERT … SELECT).

What each case holds after a run is the scorer's row as of that run: money rounded to
cents, days as the UTC time of the business's midnight, the reason's parameters as JSON;
open cases are updated in place, new ones opened, new ones whose flag cleared closed, and
cases someone works stay open. The suite runs this on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, timedelta
from decimal import Decimal

import pandas as pd
from sqlalchemy import select

from recovery.analysis import score_customer_groups, score_customers
from recovery.cases.analysis import _jsonable, _wall_clock, effective_settings, run_analysis
from recovery.cases.order_lines import load_lines
from recovery.models import Case, ProductGroup, business_tz, utcnow


def _decliner(build, company, **fields):
    customer = build.customer(**fields)
    today = utcnow()
    for month in range(2, 24, 2):
        net = "550.00" if month < 12 else "1000.00"
        build.order(customer, today - timedelta(days=30 * month + 20), net, "Dünger", company)
    return customer


def _lapsed(build, company):
    """Bought soil every month for two years, then stopped half a year ago."""
    customer = build.customer(last_name="Erdmann")
    today = utcnow()
    for month in range(6, 30):
        build.order(customer, today - timedelta(days=30 * month + 3), "80.00", "Erde", company)
    return customer


def _money(value) -> Decimal | None:
    return None if pd.isna(value) else Decimal(str(round(float(value), 2)))


def _midnight_utc(value):
    if pd.isna(value):
        return None
    local = pd.Timestamp(value).tz_localize(business_tz())
    return local.tz_convert(UTC).to_pydatetime()


def _cases(db) -> dict[tuple[int, str], Case]:
    db.session.expire_all()
    return {(c.customer_id, c.key): c for c in db.session.scalars(select(Case))}


def test_cases_hold_the_scorers_rows_and_follow_the_flags(build, db):
    company = build.company()
    worked, quiet = _decliner(build, company), _decliner(build, company)
    lapsed = _lapsed(build, company)
    soil = db.session.scalar(select(ProductGroup).filter_by(name="Erde"))
    first_as_of = utcnow() - timedelta(days=1)

    first = run_analysis(first_as_of)
    cases = _cases(db)
    overdue_key = f"overdue:{soil.id}"
    assert {(worked.id, "decline"), (quiet.id, "decline"), (lapsed.id, overdue_key)} <= set(cases)
    assert (first.opened, first.updated, first.closed) == (len(cases), 0, 0)

    # every number as the scorer has it, as of the run
    tz = business_tz()
    local = _wall_clock(first_as_of, tz)
    scored = score_customers(load_lines(tz, first_as_of), local, effective_settings())
    row = scored.set_index("customer_id").loc[quiet.id]
    case = cases[(quiet.id, "decline")]
    assert case.status == "new" and case.kind == "decline" and case.company_id == company.id
    assert case.opened_at == case.analysed_at == first_as_of
    assert case.reference_revenue == _money(row["reference_revenue"]) == Decimal("6000.00")
    assert case.current_revenue == _money(row["current_revenue"])
    assert case.revenue_at_risk == _money(row["revenue_at_risk"])
    assert case.decline_pct == float(row["decline_pct"])
    assert case.p_churn == float(row["p_churn"])
    assert case.last_order_at == _midnight_utc(row["last_order"])
    assert case.expected_next_order == _midnight_utc(row["expected_next_order"])
    assert (case.reason_key, case.reason_text) == (row["reason_key"], row["reason"])
    assert case.reason_params == _jsonable(row["reason_params"])
    dung = db.session.scalar(select(ProductGroup).filter_by(name=row["last_product_group"]))
    assert case.product_group_id == dung.id  # the group of the last order
    groups = score_customer_groups(load_lines(tz, first_as_of), local, effective_settings())
    g_row = groups[(groups["customer_id"] == lapsed.id) & (groups["product_group"] == "Erde")]
    overdue = cases[(lapsed.id, overdue_key)]
    assert overdue.kind == "overdue" and overdue.product_group_id == soil.id
    assert overdue.reason_params == _jsonable(g_row["reason_params"].iloc[0])
    assert overdue.last_order_at == _midnight_utc(g_row["last_order"].iloc[0])

    # someone works one decline case; then no decline is flagged any more
    cases[(worked.id, "decline")].status = "contacted"
    db.session.commit()
    second_as_of = utcnow()
    strict = dataclasses.replace(effective_settings(), min_decline_pct=99.0)
    second = run_analysis(second_as_of, strict)
    after = _cases(db)
    closed_now = {key for key, c in after.items() if c.closed_at == second_as_of}
    assert (quiet.id, "decline") in closed_now and (worked.id, "decline") not in closed_now
    assert all(after[key].status == "closed" for key in closed_now)
    assert (second.opened, second.closed) == (0, len(closed_now))
    still_open = {key for key, c in after.items() if c.closed_at is None}
    assert second.updated == len(still_open - {(worked.id, "decline")})
    closed = after[(quiet.id, "decline")]
    assert (closed.status, closed.closed_at) == ("closed", second_as_of)
    kept = after[(worked.id, "decline")]
    assert kept.status == "contacted" and kept.closed_at is None
    assert kept.analysed_at == first_as_of  # not flagged: not touched
    again = after[(lapsed.id, overdue_key)]
    assert again.id == overdue.id and again.opened_at == first_as_of
    assert again.analysed_at == second_as_of and again.updated_at >= second_as_of
    assert len(after) == len(cases)  # nothing opened twice

"""Runs the analyser on the stored orders and opens, updates or closes cases.

Case lifecycle (also in the README):

* **open** – a customer flagged by a rule (revenue decline: one case per customer;
  overdue by rhythm: one per customer × product group) and not excluded gets a case
  with status ``new``. At most one open case per customer and key exists (a unique
  index guarantees it), so re-running the analysis never duplicates.
* **update** – every run refreshes the numbers and the reason of open cases.
* **recovered** – when the customer orders again after the case was opened (any
  company; for overdue cases an order containing that product group) the case
  closes as ``recovered`` and that order's net revenue is credited.
* **closed** – a ``new`` case whose flag cleared without an order closes quietly;
  cases someone is working (contacted, offer requested, reminder) stay open until
  the customer orders, says no, or the user closes them.
* **no interest** – closes the case by hand; the customer stays out of the analysis
  for ``no_interest_days``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from ..analysis import AnalysisSettings, backtest, score_customer_groups, score_customers
from ..extensions import db
from ..models import (
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    Company,
    Customer,
    Order,
    ProductGroup,
    business_tz,
    utcnow,
)
from .order_lines import load_lines
from .reorder_due import write_reorder_due
from .settings import analysis_settings


@dataclass
class AnalyzeResult:
    customers: int
    flagged: int
    opened: int
    updated: int
    closed: int
    recovered: int
    # which models gave p_churn and expected_revenue, and the time split that chose them
    # and calibrated p_churn (its calibrator included): stored with the run's job row
    model: dict = dataclasses.field(default_factory=dict)


def _money(value) -> Decimal | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return Decimal(str(round(float(value), 2)))


def _float(value) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def as_of_end(day: date) -> datetime:
    """The end of the business's ``day``: what "as of" a date means for the analysis and
    backtest."""
    return datetime.combine(day, time(23, 59, 59), business_tz())


def _wall_clock(moment: datetime, tz: tzinfo) -> pd.Timestamp:
    """``moment`` as the analyser takes it: naive, the business's wall clock."""
    return pd.Timestamp(moment.astimezone(tz).replace(tzinfo=None))


def _time(value, tz: tzinfo) -> datetime | None:
    """A day of the analyser (naive, in ``tz``) as the UTC time of its local midnight."""
    if value is None or pd.isna(value):
        return None
    ts = pd.Timestamp(value).tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return ts.tz_convert(UTC).to_pydatetime()


def _jsonable(params) -> dict:
    if not isinstance(params, dict):
        return {}
    out = {}
    for key, value in params.items():
        if isinstance(value, pd.Timestamp | datetime):
            out[key] = value.isoformat()
        elif hasattr(value, "item"):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def _case_values(row, as_of: datetime, companies: dict[str, int], tz: tzinfo) -> dict:
    return {
        "company_id": companies.get(row.get("company") or ""),
        "reason_key": row.get("reason_key"),
        "reason_params": _jsonable(row.get("reason_params")),
        "reason_text": row.get("reason"),
        "reference_revenue": _money(row.get("reference_revenue")),
        "current_revenue": _money(row.get("current_revenue")),
        "decline_pct": _float(row.get("decline_pct")),
        "revenue_at_risk": _money(row.get("revenue_at_risk")),
        "p_churn": _float(row.get("p_churn")),
        "last_order_at": _time(row.get("last_order"), tz),
        "expected_next_order": _time(row.get("expected_next_order"), tz),
        "analysed_at": as_of,
    }


def _excluded(as_of: datetime) -> dict[int, str]:
    rows = db.session.execute(
        select(Customer.id).where(Customer.no_interest_until > as_of)
    ).scalars()
    return {cid: "no_interest" for cid in rows}


def _recover(as_of: datetime) -> int:
    """Close open cases whose customer ordered after the case was opened."""
    earliest = db.session.scalar(select(func.min(Case.opened_at)).where(Case.closed_at.is_(None)))
    if earliest is None:
        return 0
    ordered_again = (
        select(Order.customer_id)
        .where(
            Order.ordered_at > earliest,
            Order.ordered_at <= as_of,
            Order.state.in_(("completed", "open")),
        )
        .distinct()
    )
    cases = db.session.scalars(
        select(Case).where(Case.closed_at.is_(None), Case.customer_id.in_(ordered_again))
    ).all()
    by_customer: dict[int, list[Case]] = {}
    for case in cases:
        by_customer.setdefault(case.customer_id, []).append(case)
    orders = db.session.scalars(
        select(Order)
        .where(
            Order.customer_id.in_(by_customer.keys()),
            Order.ordered_at > earliest,
            Order.ordered_at <= as_of,
            Order.state.in_(("completed", "open")),
        )
        .options(selectinload(Order.lines))
        .order_by(Order.ordered_at, Order.id)
    ).all()
    count = 0
    for order in orders:
        for case in by_customer.get(order.customer_id, []):
            if case.closed_at is not None or order.ordered_at <= case.opened_at:
                continue
            if case.kind == CaseKind.OVERDUE and not any(
                line.product_group_id == case.product_group_id for line in order.lines
            ):
                continue
            case.status = CaseStatus.RECOVERED
            case.closed_at = order.ordered_at
            case.recovered_at = order.ordered_at
            case.recovered_order_id = order.id
            case.recovered_revenue = order.net_total
            case.claimed_by_id = None
            db.session.add(
                CaseEvent(
                    case=case,
                    kind="recovered",
                    data={"order": order.number or order.external_id, "net": str(order.net_total)},
                )
            )
            count += 1
    return count


def _sync_cases(
    kind: CaseKind,
    flagged: pd.DataFrame,
    key_of: Callable[[dict], str],
    group_of: Callable[[dict], int | None],
    as_of: datetime,
    companies: dict[str, int],
    tz: tzinfo,
) -> tuple[int, int, int]:
    open_cases = {
        (customer_id, key): (case_id, status)
        for case_id, customer_id, key, status in db.session.execute(
            select(Case.id, Case.customer_id, Case.key, Case.status).where(
                Case.kind == kind, Case.closed_at.is_(None)
            )
        )
    }
    opened = updated = 0
    seen: set[tuple[int, str]] = set()
    new_rows = []
    changed_rows = []
    for row in flagged.to_dict("records"):
        key = key_of(row)
        ident = (int(row["customer_id"]), key)
        seen.add(ident)
        values = _case_values(row, as_of, companies, tz)
        values["product_group_id"] = group_of(row)
        case = open_cases.get(ident)
        if case is None:
            new_rows.append(
                {
                    "customer_id": ident[0],
                    "key": key,
                    "kind": kind,
                    "status": CaseStatus.NEW,
                    "opened_at": as_of,
                    "updated_at": utcnow(),
                    **values,
                }
            )
            opened += 1
        else:
            changed_rows.append({"id": case[0], "updated_at": utcnow(), **values})
            updated += 1
    if new_rows:
        db.session.execute(Case.__table__.insert(), new_rows)
    if changed_rows:
        db.session.execute(update(Case), changed_rows)  # bulk UPDATE by primary key
    stale = [
        case_id
        for ident, (case_id, status) in open_cases.items()
        if ident not in seen and status == CaseStatus.NEW
    ]
    if stale:
        db.session.execute(
            update(Case).where(Case.id.in_(stale)).values(status=CaseStatus.CLOSED, closed_at=as_of)
        )
    return opened, updated, len(stale)


def effective_settings() -> AnalysisSettings:
    """The stored settings with the admin's default interval per product group."""
    intervals = dict(
        db.session.execute(
            select(ProductGroup.name, ProductGroup.default_interval_days).where(
                ProductGroup.default_interval_days.is_not(None)
            )
        )
        .tuples()
        .all()
    )
    return dataclasses.replace(analysis_settings(), group_default_intervals=intervals)


def run_analysis(
    as_of: datetime | None = None,
    settings: AnalysisSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> AnalyzeResult:
    """Score all customers as of ``as_of`` and bring the cases up to date."""
    return _analyse(as_of or utcnow(), settings or effective_settings(), progress)


def run_backtest(
    as_of: datetime,
    horizon_days: int | None = None,
    progress: Callable[[str], None] | None = None,
):
    """The rules as of a past date against what happened after it (A6)."""
    say = progress or (lambda _msg: None)
    say("reading orders")
    tz = business_tz()
    lines = load_lines(tz)
    say("scoring and comparing")
    return backtest(lines, _wall_clock(as_of, tz), horizon_days, effective_settings())


def _analyse(
    as_of: datetime, settings: AnalysisSettings, progress: Callable[[str], None] | None
) -> AnalyzeResult:
    say = progress or (lambda _msg: None)
    say("reading orders")
    tz = business_tz()
    lines = load_lines(tz, as_of)
    recovered = _recover(as_of)
    db.session.flush()
    excluded = _excluded(as_of)
    say("scoring customers")
    local = _wall_clock(as_of, tz)
    scored = score_customers(lines, local, settings, excluded=excluded)
    groups = score_customer_groups(lines, local, settings, excluded=excluded)
    companies = dict(db.session.execute(select(Company.name, Company.id)).tuples().all())
    group_ids = dict(db.session.execute(select(ProductGroup.name, ProductGroup.id)).tuples().all())
    say("writing cases")
    ok = scored["excluded_reason"].isna() | (scored["excluded_reason"] == "")
    decline = scored[ok & scored["flag_decline"].astype(bool)]
    d_open, d_upd, d_closed = _sync_cases(
        CaseKind.DECLINE,
        decline,
        lambda row: CaseKind.DECLINE.value,
        lambda row: group_ids.get(row.get("last_product_group") or ""),
        as_of,
        companies,
        tz,
    )
    ok_g = groups["excluded_reason"].isna() | (groups["excluded_reason"] == "")
    overdue = groups[ok_g & groups["flag_overdue"].astype(bool)]
    o_open, o_upd, o_closed = _sync_cases(
        CaseKind.OVERDUE,
        overdue,
        lambda row: f"{CaseKind.OVERDUE}:{group_ids.get(row['product_group'], 0)}",
        lambda row: group_ids.get(row["product_group"]),
        as_of,
        companies,
        tz,
    )
    say("writing reminder predictions")
    write_reorder_due(groups, group_ids, companies, settings.overdue_tolerance, tz)
    db.session.commit()
    return AnalyzeResult(
        customers=len(scored),
        flagged=len(decline),
        opened=d_open + o_open,
        updated=d_upd + o_upd,
        closed=d_closed + o_closed,
        recovered=recovered,
        model={
            k: scored.attrs["model"].get(k)
            for k in ("model", "revenue_model", "calibrated", "time_split")
        },
    )

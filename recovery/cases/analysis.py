"""Runs the analyser on the stored orders and opens, updates or closes cases.

Case lifecycle (also in the README):

* **open** – a customer flagged by a rule (revenue decline: one case per customer;
  overdue by rhythm: one per customer × product group) and not excluded gets a case
  with status ``new``. At most one open case per customer and key exists (a unique
  index guarantees it), so re-running the analysis never duplicates.
* **update** – every run refreshes the numbers and the reason of open cases (a case
  whose values did not change is left as it is, its ``analysed_at`` that of the run that
  last changed it).
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
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import selectinload

from ..analysis import AnalysisSettings, backtest, score_customers_and_groups
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
from ..models.copies import COPIES, copy_expressions
from ..models.types import Money, UTCDateTime
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


_PLAIN = frozenset((str, int, float, bool, type(None)))


def _jsonable(params) -> dict:
    if not isinstance(params, dict):
        return {}
    out = {}
    for key, value in params.items():
        if type(value) in _PLAIN:  # most values (a case has some 300 000 of them)
            out[key] = value
        elif isinstance(value, pd.Timestamp | datetime):
            out[key] = value.isoformat()
        elif hasattr(value, "item"):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def _times(values: pd.Series, tz: tzinfo) -> list[datetime | None]:
    """Days of the analyser (naive, in ``tz``) as the naive UTC times of their local
    midnight (as stored), None where missing."""
    # converted once per distinct day: a conversion per row cost a second per 100 000
    codes, days = pd.factorize(pd.to_datetime(values.reset_index(drop=True)).astype("M8[ns]"))
    local = pd.DatetimeIndex(days).tz_localize(
        tz, ambiguous=np.ones(len(days), dtype=bool), nonexistent="shift_forward"
    )
    naive = [v.to_pydatetime() for v in local.tz_convert(UTC).tz_localize(None)]
    return [None if code < 0 else naive[code] for code in codes.tolist()]


# The per-run values of a case, staged in a temporary table and written from it with one
# UPDATE … FROM, one INSERT … SELECT and one UPDATE per kind (the case tally's triggers
# fire once per statement, not once per case). Times are naive UTC (as stored).
VALUE_COLUMNS = (
    "product_group_id",
    "company_id",
    "reason_key",
    "reason_params",
    "reason_text",
    "reference_revenue",
    "current_revenue",
    "decline_pct",
    "revenue_at_risk",
    "p_churn",
    "last_order_at",
    "expected_next_order",
)
_STAGE = Table(
    "case_stage",
    MetaData(),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("customer_id", Integer, nullable=False),
    Column("key", String(40), nullable=False),
    Column("product_group_id", Integer),
    Column("company_id", Integer),
    Column("reason_key", String(50)),
    Column("reason_params", JSON),
    Column("reason_text", Text),
    Column("reference_revenue", Money),
    Column("current_revenue", Money),
    Column("decline_pct", Float),
    Column("revenue_at_risk", Money),
    Column("p_churn", Float),
    Column("last_order_at", DateTime),
    Column("expected_next_order", DateTime),
    prefixes=["TEMPORARY"],
)


def _staged_rows(
    flagged: pd.DataFrame,
    keys: pd.Series,
    group_ids: pd.Series,
    companies: dict[str, int],
    tz: tzinfo,
) -> list[tuple]:
    """One tuple per flagged row in the order of ``_STAGE``'s columns."""
    n = len(flagged)

    def column(name: str) -> list:
        return flagged[name].tolist() if name in flagged else [None] * n

    def times(name: str) -> list:
        return _times(flagged[name], tz) if name in flagged else [None] * n

    return list(
        zip(
            range(n),
            [int(v) for v in flagged["customer_id"].tolist()],
            keys.tolist(),
            [None if v is None or v != v else int(v) for v in group_ids.tolist()],
            [companies.get(v or "") for v in column("company")],
            [None if v is None or v != v else v for v in column("reason_key")],
            [_jsonable(v) for v in column("reason_params")],
            [None if v is None or v != v else v for v in column("reason")],
            [_money(v) for v in column("reference_revenue")],
            [_money(v) for v in column("current_revenue")],
            [_float(v) for v in column("decline_pct")],
            [_money(v) for v in column("revenue_at_risk")],
            [_float(v) for v in column("p_churn")],
            times("last_order"),
            times("expected_next_order"),
            strict=True,
        )
    )


def _stage(rows: list[tuple]) -> None:
    """Fill the temporary ``case_stage`` (created empty) in the session's transaction."""
    conn = db.session.connection()
    _STAGE.create(conn)
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        names = ", ".join(f'"{c.name}"' for c in _STAGE.columns)
        json_at = [c.name for c in _STAGE.columns].index("reason_params")
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY case_stage ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row[:json_at], json.dumps(row[json_at]), *row[json_at + 1 :]))
        cursor.execute("ANALYZE case_stage")
    else:
        conn.execute(
            _STAGE.insert(), [dict(zip(_STAGE.columns.keys(), r, strict=True)) for r in rows]
        )


def _changed(case: Table, stage: Table, postgres: bool):
    """Whether a staged row's values differ from its open case's: an unchanged case is
    not rewritten (on PostgreSQL every rewritten row is a new row version in each of the
    case table's indexes), so its ``analysed_at`` stays the run that last changed it."""

    def value(table: Table, name: str):
        column = table.c[name]
        if name == "reason_params":  # JSON has no equality; compared as values (jsonb)
            return cast(column, JSONB) if postgres else cast(column, Text)
        return column

    return or_(*(value(case, n).is_distinct_from(value(stage, n)) for n in VALUE_COLUMNS))


def _sync_cases(
    kind: CaseKind,
    flagged: pd.DataFrame,
    keys: pd.Series,
    group_ids: pd.Series,
    as_of: datetime,
    companies: dict[str, int],
    tz: tzinfo,
) -> tuple[int, int, int]:
    """Open, update and close the cases of ``kind``: one case per flagged row, identified
    by its customer and ``keys``; ``group_ids`` is each row's product group id or NaN.

    Returns the numbers opened, updated and closed.
    """
    _stage(_staged_rows(flagged, keys, group_ids, companies, tz))
    conn = db.session.connection()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # Hash joins whatever the statistics say: the case table grows faster than
        # autovacuum counts it (the first run, a big import); planned as one row, the
        # joins below became nested loops over all open cases (minutes instead of ms).
        conn.exec_driver_sql("SET LOCAL enable_nestloop = off")
    case, stage = Case.__table__, _STAGE
    now = utcnow()
    is_open = and_(case.c.kind == kind.value, case.c.closed_at.is_(None))
    same = and_(case.c.customer_id == stage.c.customer_id, case.c.key == stage.c.key)
    updated = conn.execute(
        update(case)
        .where(is_open, same, _changed(case, stage, postgres))
        .values(
            {
                **{name: stage.c[name] for name in VALUE_COLUMNS},
                "updated_at": bindparam("now", now, type_=UTCDateTime),
                "analysed_at": bindparam("as_of", as_of, type_=UTCDateTime),
            }
        )
    ).rowcount
    # The customer's copies (search text, sort keys) selected with the case: the copy
    # trigger would look the customer up once per row (models/copies.py). Outer join: a
    # row of a customer that does not exist reaches the insert and is refused there.
    customer = Customer.__table__.alias("c")
    new = (
        select(
            stage.c.customer_id,
            stage.c.key,
            literal(kind.value, String),
            literal(CaseStatus.NEW.value, String),
            literal(as_of, UTCDateTime),
            literal(now, UTCDateTime),
            literal(as_of, UTCDateTime),
            *(stage.c[name] for name in VALUE_COLUMNS),
            *(literal_column(sql) for sql in copy_expressions(customer.name)),
        )
        .select_from(stage.outerjoin(customer, customer.c.id == stage.c.customer_id))
        .where(~exists().where(is_open, same))
        .order_by(stage.c.seq)
    )
    columns = ["customer_id", "key", "kind", "status", "opened_at", "updated_at", "analysed_at"]
    opened = conn.execute(
        insert(case).from_select([*columns, *VALUE_COLUMNS, *COPIES], new),
        execution_options={"preserve_rowcount": True},  # SQLAlchemy keeps it for UPDATEs only
    ).rowcount
    # a new case whose flag cleared closes quietly; worked cases stay open
    closed = conn.execute(
        update(case)
        .where(
            is_open,
            case.c.status == CaseStatus.NEW.value,
            ~exists().where(same),
        )
        .values(
            status=CaseStatus.CLOSED.value, closed_at=bindparam("as_of", as_of, type_=UTCDateTime)
        )
    ).rowcount
    _STAGE.drop(conn)
    if postgres:
        conn.exec_driver_sql("SET LOCAL enable_nestloop TO DEFAULT")
    return opened, updated, closed


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


def _label_ids(frame: pd.DataFrame, column: str, ids: dict[str, int]) -> pd.Series:
    """The id of each row's label in ``column`` (NaN where missing or unknown)."""
    if column not in frame:
        return pd.Series(np.nan, index=frame.index)
    return frame[column].astype(object).map(lambda label: ids.get(label)).astype("float64")


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
    settings = effective_settings()
    lines = load_lines(tz, gross=settings.amount_basis == "gross")
    say("scoring and comparing")
    return backtest(lines, _wall_clock(as_of, tz), horizon_days, settings)


def _analyse(
    as_of: datetime, settings: AnalysisSettings, progress: Callable[[str], None] | None
) -> AnalyzeResult:
    say = progress or (lambda _msg: None)
    say("reading orders")
    tz = business_tz()
    lines = load_lines(tz, as_of, gross=settings.amount_basis == "gross")
    recovered = _recover(as_of)
    db.session.flush()
    excluded = _excluded(as_of)
    say("scoring customers")
    local = _wall_clock(as_of, tz)
    scored, groups = score_customers_and_groups(lines, local, settings, excluded=excluded)
    companies = dict(db.session.execute(select(Company.name, Company.id)).tuples().all())
    group_ids = dict(db.session.execute(select(ProductGroup.name, ProductGroup.id)).tuples().all())
    say("writing cases")
    ok = scored["excluded_reason"].isna() | (scored["excluded_reason"] == "")
    decline = scored[ok & scored["flag_decline"].astype(bool)]
    d_open, d_upd, d_closed = _sync_cases(
        CaseKind.DECLINE,
        decline,
        pd.Series(CaseKind.DECLINE.value, index=decline.index, dtype=object),
        _label_ids(decline, "last_product_group", group_ids),
        as_of,
        companies,
        tz,
    )
    ok_g = groups["excluded_reason"].isna() | (groups["excluded_reason"] == "")
    overdue = groups[ok_g & groups["flag_overdue"].astype(bool)]
    overdue_groups = _label_ids(overdue, "product_group", group_ids)
    o_open, o_upd, o_closed = _sync_cases(
        CaseKind.OVERDUE,
        overdue,
        f"{CaseKind.OVERDUE}:" + overdue_groups.fillna(0).astype("int64").astype(str),
        overdue_groups,
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

"""The analysis's predictions for the reorder reminder (R6): per customer × product
group that is not overdue yet, when the customer would become overdue.

Written by every analysis run, all rows replaced, and only for the groups whose
reminder waits for the predicted time – a run without such a group writes nothing.
"""

from __future__ import annotations

from datetime import tzinfo

import numpy as np
import pandas as pd
from sqlalchemy import delete, select

from ..extensions import db
from ..models import ReminderMode, ReorderDue, ReorderSettings


def _utc(days: pd.Series, tz: tzinfo) -> np.ndarray:
    """Naive local days (the analyser's) as the naive UTC of their local midnight – how
    ``UTCDateTime`` stores a time. Converted once per distinct day (a time zone
    conversion per row costs seconds at 100 000 rows)."""
    distinct, back = np.unique(days.to_numpy(), return_inverse=True)
    local = pd.DatetimeIndex(distinct).tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    utc = local.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[us]")
    return utc[back]


def pending_pairs(groups: pd.DataFrame, names: list[str], tolerance: float) -> pd.DataFrame:
    """The pairs of ``names`` that are not overdue yet and will be at some day, with
    ``overdue_from``: the first day on which the rhythm rule flags them."""
    interval = groups["typical_interval_days"].to_numpy(dtype="float64")
    limit = interval * tolerance
    with np.errstate(invalid="ignore"):
        keep = (
            groups["product_group"].isin(names).to_numpy()
            & (groups["excluded_reason"].isna() | (groups["excluded_reason"] == "")).to_numpy()
            & ~groups["flag_overdue"].to_numpy(dtype=bool)
            & ~groups["lost"].to_numpy(dtype=bool)
            & np.isfinite(limit)
            & (groups["days_since_last_order"].to_numpy() <= limit)
        )
    frame = groups.loc[keep]
    # Overdue when the days since the last order pass interval × tolerance.
    days = np.floor(limit[keep]) + 1
    return frame.assign(overdue_from=frame["last_order"] + pd.to_timedelta(days, unit="D"))


def write_reorder_due(
    groups: pd.DataFrame,
    group_ids: dict[str, int],
    companies: dict[str, int],
    tolerance: float,
    tz: tzinfo,
) -> int:
    """Replace the predictions; the caller commits. Returns the rows written."""
    db.session.execute(delete(ReorderDue))
    wanted = set(
        db.session.scalars(
            select(ReorderSettings.product_group_id).where(
                ReorderSettings.mode == ReminderMode.PREDICTED
            )
        )
    )
    names = [name for name, gid in group_ids.items() if gid in wanted]
    if not names or groups.empty:
        return 0
    frame = pending_pairs(groups, names, tolerance)
    if frame.empty:
        return 0
    columns = {
        "customer_id": frame["customer_id"].astype("int64").tolist(),
        "product_group_id": frame["product_group"].astype(str).map(group_ids).tolist(),
        "order_id": frame["last_order_id"].astype("int64").tolist(),
        "company_id": [
            None if pd.isna(v) else int(v) for v in frame["company"].astype(object).map(companies)
        ],
        "last_order_at": _utc(frame["last_order"], tz),
        "expected_next_order": _utc(frame["expected_next_order"], tz),
        "overdue_from": _utc(frame["overdue_from"], tz),
    }
    _insert(columns)
    return len(frame)


def _insert(columns: dict[str, list | np.ndarray]) -> None:
    """COPY on PostgreSQL, one executemany on SQLite (times as SQLAlchemy writes them
    there); in the session's transaction."""
    conn = db.session.connection()
    names = ", ".join(columns)
    times = [k for k, v in columns.items() if isinstance(v, np.ndarray)]
    if conn.dialect.name == "postgresql":
        values = [v.astype(object) if k in times else v for k, v in columns.items()]
        cursor = conn.connection.driver_connection.cursor()
        with cursor, cursor.copy(f"COPY reorder_due ({names}) FROM STDIN") as copy:
            for row in zip(*values, strict=True):
                copy.write_row(row)
        return
    values = [
        np.char.replace(np.datetime_as_string(v, unit="us"), "T", " ").tolist() if k in times else v
        for k, v in columns.items()
    ]
    marks = ", ".join("?" * len(columns))
    conn.exec_driver_sql(
        f"INSERT INTO reorder_due ({names}) VALUES ({marks})", list(zip(*values, strict=True))
    )

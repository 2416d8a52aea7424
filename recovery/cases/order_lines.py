"""Reading the stored order lines into the DataFrame the analyser wants.

One row per order line, ordered by (order id, line number), with the columns
``customer_id, order_id, ordered_at, net_amount, gross_amount`` and the categoricals
``product_group, company, state, customer_group`` (categories sorted, object labels);
``gross_amount`` only when asked for (the analysis reads it when its amount basis is
gross: 10 M amounts are a second of reading). Both databases give the same frame for the
same rows (``tests/app/test_order_lines.py``).

* **PostgreSQL** reads Arrow through the ADBC driver (binary COPY inside libpq, no Python
  object per value): the order lines, the orders up to ``as_of``, the customers' groups and
  the two small name tables, each as one plain scan. They are joined here with numpy by
  integer position instead of by the database: the five-table join in the database was
  most of the time (1 M lines: about 5 s of 10; see ``bench/analysis/bench_analyze.py``).
  The reads run in one REPEATABLE READ transaction, so they see one snapshot. Every
  value of a line or an order is a number: the states come as their position in
  ``ORDER_STATES`` (decoding 13 M short strings was a good part of the driver's time); a
  table holding some other word is read once more with its states as text.
* **SQLite** (the embedded default, small data) reads the joined statement through pandas.

The analyser counts in calendar days of the times it is given, so ``ordered_at`` leaves
here as the business's wall-clock time (naive, in BABEL_DEFAULT_TIMEZONE): an order at
00:30 in Berlin belongs to that day, not to the UTC day before.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

import numpy as np
import pandas as pd
from sqlalchemy import DateTime, Float, bindparam, cast, func, select

from ..extensions import db
from ..models import ORDER_STATES, Company, Customer, Order, OrderLine, ProductGroup

CATEGORIES = ("product_group", "company", "state", "customer_group")
COLUMNS = (
    "customer_id",
    "order_id",
    "ordered_at",
    "net_amount",
    "gross_amount",
    *CATEGORIES,
)


def columns(gross: bool = True) -> list[str]:
    """The frame's columns: all of ``COLUMNS``, without ``gross_amount`` unless ``gross``."""
    return [c for c in COLUMNS if gross or c != "gross_amount"]


def _naive_utc(as_of: datetime) -> datetime:
    return as_of.astimezone(UTC).replace(tzinfo=None)  # stored times are naive UTC


def _statement(as_of: datetime | None, gross: bool):
    amounts = [cast(OrderLine.net_amount, Float).label("net_amount")]
    if gross:
        amounts.append(cast(OrderLine.gross_amount, Float).label("gross_amount"))
    stmt = (
        select(
            Order.customer_id,
            Order.id.label("order_id"),
            Order.ordered_at,
            *amounts,
            ProductGroup.name.label("product_group"),
            Company.name.label("company"),
            # a line's own state (a cancelled position) before its order's
            func.coalesce(OrderLine.state, Order.state).label("state"),
            Customer.customer_group,
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Customer, Customer.id == Order.customer_id)
        .outerjoin(ProductGroup, ProductGroup.id == OrderLine.product_group_id)
        .outerjoin(Company, Company.id == Order.company_id)
        .order_by(OrderLine.order_id, OrderLine.line_no)
    )
    if as_of is not None:
        stmt = stmt.where(
            Order.ordered_at <= bindparam("as_of", _naive_utc(as_of), type_=DateTime())
        )
    return stmt


def _read_sql_lines(as_of: datetime | None, tz: tzinfo, gross: bool = True) -> pd.DataFrame:
    with db.engine.connect() as conn:
        frame = pd.read_sql(_statement(as_of, gross), conn)
    ordered_at = pd.to_datetime(frame["ordered_at"], format="ISO8601")
    if ordered_at.dt.tz is None:  # stored naive UTC
        ordered_at = ordered_at.dt.tz_localize(UTC)
    frame["ordered_at"] = ordered_at.dt.tz_convert(tz).dt.tz_localize(None).astype("M8[ns]")
    for column in ("customer_id", "order_id"):
        frame[column] = frame[column].astype("int64")
    for column in ("net_amount", "gross_amount")[: 1 + gross]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in CATEGORIES:
        frame[column] = frame[column].astype(object).astype("category")
    return frame[columns(gross)]


# --- PostgreSQL: Arrow through ADBC, joined by position ---------------------------------


def _positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The position of each of ``wanted`` in ``ids`` (distinct integers), -1 if absent."""
    wanted = wanted.astype(np.int64, copy=False)
    if len(ids) == 0:
        return np.full(len(wanted), -1, dtype=np.int64)
    ids = ids.astype(np.int64, copy=False)
    lo, hi = int(ids.min()), int(ids.max())
    if hi - lo <= max(4 * len(ids), 1 << 20):  # database keys: a direct table
        table = np.full(hi - lo + 2, -1, dtype=np.int64)  # the last slot: not found
        table[ids - lo] = np.arange(len(ids))
        offset = wanted - lo
        offset[(offset < 0) | (offset > hi - lo)] = hi - lo + 1
        return table[offset]
    order = np.argsort(ids, kind="stable")
    at = np.minimum(np.searchsorted(ids[order], wanted), len(ids) - 1)
    return np.where(ids[order][at] == wanted, order[at], -1)


def _take(values: np.ndarray, pos: np.ndarray, missing: int = -1) -> np.ndarray:
    """``values[pos]`` with ``missing`` where ``pos`` is -1."""
    if len(values) == 0:
        return np.full(len(pos), missing, dtype=values.dtype)
    out = values[np.maximum(pos, 0)]
    out[pos < 0] = missing
    return out


def _dictionary(column) -> tuple[np.ndarray, list]:
    """Codes (-1 = null) and labels of an Arrow string column; a column of state codes
    (``_STATE_CODE``) has the labels ``ORDER_STATES``."""
    import pyarrow as pa

    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return _ints(column).astype(np.int32), list(ORDER_STATES)
    encoded = column.dictionary_encode().combine_chunks()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    return codes, encoded.dictionary.to_pylist()


def _categorical(codes: np.ndarray, labels: list) -> pd.Categorical:
    """Codes into ``labels`` (None = missing) as a categorical of the labels present,
    sorted: what ``astype("category")`` makes of the same strings."""
    used = np.zeros(len(labels) + 1, dtype=bool)
    used[codes] = True  # -1 marks the last slot
    present = sorted({labels[i] for i in np.flatnonzero(used[:-1]) if labels[i] is not None})
    index = {label: k for k, label in enumerate(present)}
    remap = np.array([index.get(label, -1) for label in labels] + [-1], dtype=np.int32)
    return pd.Categorical.from_codes(remap[codes], categories=pd.Index(present, dtype=object))


def _ints(column, missing: int = -1) -> np.ndarray:
    return column.fill_null(missing).to_numpy().astype(np.int64, copy=False)


def _floats(column) -> np.ndarray:
    return column.to_numpy().astype(np.float64, copy=False)  # nulls become NaN


# A state as its position in ORDER_STATES (a small integer), -1 when empty, -2 when it is
# any other word: the words are fixed, so no string is sent per line or order.
_UNKNOWN_STATE = -2
_STATE_CODE = (
    "CASE state "
    + " ".join(f"WHEN '{word}' THEN {i}" for i, word in enumerate(ORDER_STATES))
    + f" ELSE CASE WHEN state IS NULL THEN -1 ELSE {_UNKNOWN_STATE} END END::int2 AS state"
)


# (order id, line number) as one int8 in their order: the order id in the upper 32 bits,
# the line number (an int4, offset to be non-negative) in the lower ones.
_LINE_KEY = "(order_id::int8 << 32) + (line_no::int8 + 2147483648)"


def _queries(as_of: datetime | None, gross: bool, state: str = _STATE_CODE) -> dict[str, str]:
    cut = ""
    if as_of is not None:  # a datetime of ours, not user input
        cut = f" WHERE ordered_at <= '{_naive_utc(as_of).isoformat(sep=' ')}'::timestamp"
    amounts = "CAST(net_amount AS float8) AS net_amount"
    if gross:
        amounts += ", CAST(gross_amount AS float8) AS gross_amount"
    return {
        "orders": f"SELECT id, customer_id, ordered_at, company_id, {state}"
        f" FROM customer_order{cut}",
        # the order id and line number as one sort key: one value less to decode per line
        "lines": f"SELECT {_LINE_KEY} AS line_key, product_group_id, {amounts}, {state}"
        " FROM order_line",
        "customers": "SELECT id, customer_group FROM customer",
        "groups": "SELECT id, name FROM product_group",
        "companies": "SELECT id, name FROM company",
    }


def _read_arrow(as_of: datetime | None, gross: bool) -> dict:
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow.compute as pc

    uri = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    tables = {}
    with adbc.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            for name, sql in _queries(as_of, gross).items():
                cur.execute(sql)
                tables[name] = cur.fetch_arrow_table()
            for name in ("orders", "lines"):  # a state no code stands for: read as text
                if pc.any(pc.equal(tables[name]["state"], _UNKNOWN_STATE)).as_py():
                    cur.execute(_queries(as_of, gross, state="state")[name])
                    tables[name] = cur.fetch_arrow_table()
        finally:
            cur.execute("COMMIT")
    return tables


def _postgres_lines(as_of: datetime | None, tz: tzinfo, gross: bool) -> pd.DataFrame:
    t = _read_arrow(as_of, gross)
    orders, lines, customers = t["orders"], t["lines"], t["customers"]

    # lines in (order id, line number) order, only those of the orders read
    key = _ints(lines["line_key"])
    order_id = key >> 32  # see _LINE_KEY
    keep = _positions(_ints(orders["id"]), order_id) >= 0
    if not (keep.all() and np.all(key[1:] >= key[:-1])):
        rows = np.flatnonzero(keep)
        rows = rows[np.argsort(key[rows], kind="stable")]
    else:
        rows = None

    def line_col(values: np.ndarray) -> np.ndarray:
        return values if rows is None else values[rows]

    order_id = line_col(order_id)
    o_pos = _positions(_ints(orders["id"]), order_id)

    # per order: customer, wall-clock time, company and state, then per line
    o_customer = _ints(orders["customer_id"])
    ordered_at = (
        pd.Series(orders["ordered_at"].to_numpy().astype("M8[ns]"))
        .dt.tz_localize(UTC)
        .dt.tz_convert(tz)
        .dt.tz_localize(None)
        .to_numpy()
    )
    c_pos = _positions(_ints(customers["id"]), o_customer)
    cg_codes, cg_labels = _dictionary(customers["customer_group"])
    o_cgroup = _take(cg_codes, c_pos)

    companies = t["companies"]
    co_codes = _take(
        np.arange(companies.num_rows),
        _positions(_ints(companies["id"]), _ints(orders["company_id"])),
    )
    groups = t["groups"]
    g_pos = _positions(_ints(groups["id"]), line_col(_ints(lines["product_group_id"])))

    # state: the line's own, else its order's (codes into one list of labels)
    l_state, l_labels = _dictionary(lines["state"])
    o_state, o_labels = _dictionary(orders["state"])
    labels = list(dict.fromkeys([*l_labels, *o_labels]))
    at = {label: i for i, label in enumerate(labels)}
    l_state = _take(np.array([at[x] for x in l_labels], dtype=np.int32), line_col(l_state))
    o_state = _take(np.array([at[x] for x in o_labels], dtype=np.int32), o_state)
    state = np.where(l_state >= 0, l_state, o_state[o_pos])

    frame = {
        "customer_id": o_customer[o_pos],
        "order_id": order_id,
        "ordered_at": ordered_at[o_pos],
        "net_amount": line_col(_floats(lines["net_amount"])),
        "product_group": _categorical(g_pos, groups["name"].to_pylist()),
        "company": _categorical(co_codes[o_pos], companies["name"].to_pylist()),
        "state": _categorical(state, labels),
        "customer_group": _categorical(o_cgroup[o_pos], cg_labels),
    }
    if gross:
        frame["gross_amount"] = line_col(_floats(lines["gross_amount"]))
    # the arrays are ours: no copy into one block per dtype
    return pd.DataFrame(frame, columns=columns(gross), copy=False)


def load_lines(tz: tzinfo, as_of: datetime | None = None, gross: bool = True) -> pd.DataFrame:
    """One row per order line up to ``as_of``; ``ordered_at`` naive in ``tz``; the column
    ``gross_amount`` only with ``gross`` (the amount basis "gross")."""
    if db.engine.dialect.name == "postgresql":
        return _postgres_lines(as_of, tz, gross)
    return _read_sql_lines(as_of, tz, gross)

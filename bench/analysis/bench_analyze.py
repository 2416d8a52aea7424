"""End-to-end ``flask recovery analyze`` on PostgreSQL: read the orders, score, write cases.

    python bench/analysis/bench_analyze.py --lines 1000000 --customers 100000

``--reminders`` switches the reorder reminder "at the predicted time" on for every
product group, so each run also writes the predictions (``reorder_due``) of every pair
not overdue yet – the worst case of R6. ``--name`` names the database.

Creates a throwaway database (``recovery_bench_analyze``) on the local PostgreSQL, builds
the schema with the app's migrations, fills it with COPY from ``generate.make_lines`` and
times ``run_analysis`` twice (the first run opens the cases, the second updates them),
with the time of each phase. The database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd  # noqa: E402
from generate import make_lines  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
NAME = "recovery_bench_analyze"


def _copy(conn, table: str, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N")
    with (
        conn.cursor() as cur,
        cur.copy(
            f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        ) as copy,
    ):
        copy.write(buffer.getvalue())


def fill(url: str, lines: pd.DataFrame) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    groups = pd.DataFrame(
        {"id": range(1, len(lines.product_group.cat.categories) + 1),
         "name": lines.product_group.cat.categories, "created_at": now}
    )  # fmt: skip
    companies = pd.DataFrame(
        {"id": range(1, len(lines.company.cat.categories) + 1),
         "name": lines.company.cat.categories, "created_at": now}
    )  # fmt: skip
    first = lines.drop_duplicates("customer_id")
    customers = pd.DataFrame(
        {
            "id": first.customer_id.values,
            "source": "bench",
            "external_id": first.customer_id.astype(str).values,
            "number": first.customer_id.astype(str).values,
            "last_name": "Kunde " + first.customer_id.astype(str).values,
            "email": "k" + first.customer_id.astype(str).values + "@example.de",
            "customer_group": first.customer_group.astype(str).values,
            "marketing_consent": True,
            "locale": "de",
            "created_at": now,
            "updated_at": now,
        }
    )
    orders_src = lines.groupby("order_id", sort=False).agg(
        customer_id=("customer_id", "first"),
        ordered_at=("ordered_at", "first"),
        company=("company", "first"),
        state=("state", "first"),
        net_total=("net_amount", "sum"),
    )
    orders = pd.DataFrame(
        {
            "id": orders_src.index.values,
            "source": "bench",
            "external_id": orders_src.index.astype(str),
            "customer_id": orders_src.customer_id.values,
            "company_id": orders_src.company.cat.codes.values + 1,
            "ordered_at": orders_src.ordered_at.values,
            "currency": "EUR",
            "net_total": orders_src.net_total.round(2).values,
            "state": orders_src.state.astype(str).values,
            "updated_at": now,
        }
    )
    order_lines = pd.DataFrame(
        {
            "order_id": lines.order_id.values,
            "line_no": lines.groupby("order_id").cumcount().values + 1,
            "product_group_id": lines.product_group.cat.codes.values + 1,
            "quantity": 1,
            "net_amount": lines.net_amount.values,
            "gross_amount": lines.gross_amount.values,
        }
    )
    raw = create_engine(url).raw_connection()
    try:
        for table, frame in (
            ("product_group", groups), ("company", companies), ("customer", customers),
            ("customer_order", orders), ("order_line", order_lines),
        ):  # fmt: skip
            _copy(raw.driver_connection, table, frame)
        raw.driver_connection.commit()
        with raw.driver_connection.cursor() as cur:
            cur.execute("ANALYZE")
        raw.driver_connection.commit()
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reminders", action="store_true", help="reminders on, every group")
    parser.add_argument("--name", default=NAME, help="the throwaway database's name")
    args = parser.parse_args()
    name = args.name

    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{SERVER}/{name}"
    os.environ.update(DATABASE_URL=url, RECOVERY_ENV="development")
    from flask_migrate import upgrade

    from recovery import create_app
    from recovery.cases.analysis import run_analysis
    from recovery.extensions import db

    app = create_app()
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        t = time.perf_counter()
        lines = make_lines(args.lines, args.customers)
        fill(url, lines)
        print(f"generated and loaded {len(lines):,} lines in {time.perf_counter() - t:.1f} s")
        if args.reminders:
            with create_engine(url).begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO reorder_settings (product_group_id, mode, days_after,"
                        " days_before, email_template_id, updated_at)"
                        " SELECT id, 'predicted', 30, 7, 1, now() FROM product_group"
                    )
                )
        as_of = datetime(2025, 1, 1, tzinfo=UTC)
        with app.app_context():
            for run in ("first run (opens cases)", "second run (updates cases)"):
                marks = [("start", time.perf_counter())]
                result = run_analysis(
                    as_of, progress=lambda m, marks=marks: marks.append((m, time.perf_counter()))
                )
                end = time.perf_counter()
                phases = ", ".join(
                    f"{name} {b - a:.1f} s"
                    for (name, a), (_, b) in zip(marks[1:], [*marks[2:], ("end", end)], strict=True)
                )
                due = db.session.scalar(text("SELECT count(*) FROM reorder_due"))
                print(f"{run}: {end - marks[0][1]:.1f} s total ({phases}); {result}; {due} due")
    finally:
        with app.app_context():
            db.engine.dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()

"""End-to-end ``flask recovery analyze`` on PostgreSQL: read the orders, score, write cases.

    python bench/analysis/bench_analyze.py --lines 1000000 --customers 100000

Creates a throwaway database (``--database``, default ``recovery_bench_analyze``) on the
local PostgreSQL, builds the schema with the app's migrations, fills it with COPY from
``generate.make_lines`` and times ``run_analysis`` three times (the first run opens the cases, the
second updates them, a third runs a day later as the nightly job does), with the wall and
CPU time of each phase and the process's peak resident memory
(``ru_maxrss``) after each run. The database is dropped at the end unless ``--keep``;
``--reuse`` takes a kept database as it is (its cases emptied first), so that the peak
memory is the analysis's own and not the generator's.

``--reminders`` switches the reorder reminder "at the predicted time" on for every
product group, so each run also writes the predictions (``reorder_due``) of every pair
not overdue yet – the worst case of R6. ``--name`` names the database.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
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
    parser.add_argument("--database", default=NAME, help="name of the throwaway database")
    parser.add_argument(
        "--reuse", action="store_true", help="use the kept database, its cases emptied first"
    )
    parser.add_argument("--reminders", action="store_true", help="reminders on, every group")
    args = parser.parse_args()
    name = args.database

    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    if not args.reuse:
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
        if args.reuse:
            with create_engine(url).begin() as conn:
                conn.execute(text("TRUNCATE recovery_case CASCADE"))
                n = conn.scalar(text("SELECT count(*) FROM order_line"))
            print(f"reusing {name} with {n:,} lines, cases emptied")
        else:
            t = time.perf_counter()
            lines = make_lines(args.lines, args.customers)
            fill(url, lines)
            print(f"generated and loaded {len(lines):,} lines in {time.perf_counter() - t:.1f} s")
            del lines
            gc.collect()
        if args.reminders:
            with create_engine(url).begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO reorder_settings (product_group_id, mode, days_after,"
                        " days_before, email_template_id, updated_at)"
                        " SELECT id, 'predicted', 30, 7, 1, now() FROM product_group"
                        " ON CONFLICT DO NOTHING"
                    )
                )
        print(f"before the runs: peak RSS so far {_peak_mb():,.0f} MB, now {_rss_mb():,.0f} MB")
        as_of = datetime(2025, 1, 1, tzinfo=UTC)
        arrow = _count_arrow_backend()
        runs = (
            ("first run (opens cases)", as_of),
            ("second run (same day: updates cases)", as_of),
            ("next day (as the nightly job)", as_of + timedelta(days=1)),
        )
        with app.app_context():
            for run, when in runs:
                cpu = _cpu(admin, name)
                arrow.clear()
                marks = [("start", time.perf_counter(), time.process_time())]
                result = run_analysis(
                    when,
                    progress=lambda m, marks=marks: marks.append(
                        (m, time.perf_counter(), time.process_time())
                    ),
                )
                marks.append(("end", time.perf_counter(), time.process_time()))
                phases = ", ".join(
                    f"{name} {b - a:.1f} s (CPU {d - c:.1f} s)"
                    for (name, a, c), (_, b, d) in zip(marks[1:], marks[2:], strict=False)
                )
                print(f"{run}: {marks[-1][1] - marks[0][1]:.1f} s total ({phases}); {result}")
                if args.reminders:
                    due = db.session.scalar(text("SELECT count(*) FROM reorder_due"))
                    print(f"  {due} reminder predictions written")
                ours, backends = (b - a for a, b in zip(cpu, _cpu(admin, name), strict=True))
                print(
                    f"  peak RSS {_peak_mb():,.0f} MB, now {_rss_mb():,.0f} MB; CPU {ours:.1f} s"
                    f" ours, {backends:.1f} s PostgreSQL (the session's backend)"
                    f" + {sum(arrow):.1f} s (the Arrow read's backend); load {_load()}"
                )
    finally:
        with app.app_context():
            db.engine.dispose()
        if not (args.keep or args.reuse):
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _cpu(admin, name: str) -> tuple[float, float]:
    """CPU seconds so far of this process and of the database's backends (same machine):
    on a shared machine they say where the time went when the wall time cannot."""
    with admin.connect() as conn:
        pids = conn.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": name}
        ).all()
    backends = sum(_process_cpu(pid) for pid in pids)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, backends


def _count_arrow_backend() -> list[float]:
    """CPU seconds of the backend each ADBC connection (the Arrow read) used, read just
    before it closes: wraps the driver's ``connect``; the list is the caller's to clear."""
    import adbc_driver_postgresql.dbapi as adbc

    seconds: list[float] = []
    connect = adbc.connect

    class Counted:
        def __init__(self, *args, **kwargs):
            self.conn = connect(*args, **kwargs)
            with self.conn.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                self.pid = cur.fetchone()[0]

        def __getattr__(self, attr):
            return getattr(self.conn, attr)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            seconds.append(_process_cpu(self.pid))
            return self.conn.__exit__(*exc)

    adbc.connect = Counted
    return seconds


def _process_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, PermissionError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


if __name__ == "__main__":
    main()

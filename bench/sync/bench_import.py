"""Benchmark the real import path: a German CSV through CsvFileConnector and run_sync
into PostgreSQL, then an incremental sync that finds nothing new.

    .venv/bin/python bench/sync/bench_import.py --lines 1000000

It generates the file once (bench/out/, see generate.py), creates a throwaway database
``recovery_bench_sync`` on the server of ``--server`` (dropped again unless ``--keep``),
and runs the sync in a child process so that process's peak RSS is the import's own.
Reported: wall time of the full import (file validation included), rows per stream,
peak RSS and RSS samples along the orders stream (flat memory means they do not grow),
the wall time of a sync with nothing new, and of a second full import of the same file
(every row an update).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

DATABASE = "recovery_bench_sync"
MB = 1024 * 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process of this machine (this one by default)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def recreate(server: str) -> str:
    url = make_url(server)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    return url.set(database=DATABASE).render_as_string(hide_password=False)


def drop(server: str) -> None:
    admin = create_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    admin.dispose()


def child(database_url: str, path: str) -> dict:
    """The measured part: runs in its own process."""
    from flask_migrate import upgrade
    from sqlalchemy import text as sql

    from recovery import create_app
    from recovery.extensions import db
    from recovery.models import ConnectorConfig, Customer, Order, OrderLine
    from recovery.sources.sync import run_sync

    app = create_app(
        "production",
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY="bench-import-not-for-production-32-bytes",  # noqa: S106
        PUBLIC_BASE_URL="http://127.0.0.1",
    )
    result: dict = {}
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        cfg = ConnectorConfig(name="wawi-export", kind="csv", settings={"path": path})
        db.session.add(cfg)
        db.session.commit()
        samples: list[tuple[str, int, float]] = []

        def progress(stream: str, rows: int) -> None:
            samples.append((stream, rows, rss_mb()))

        result["rss_before_mb"] = rss_mb()
        backend = db.session.scalar(sql("SELECT pg_backend_pid()"))
        db.session.commit()
        cpu, server_cpu = cpu_seconds(), cpu_seconds(backend)
        began = time.perf_counter()
        rows = run_sync(cfg, full=True, progress=progress).rows
        result["import_s"] = time.perf_counter() - began
        # where the time went (the machine may be shared): our CPU and the server's
        result["import_cpu_python_s"] = cpu_seconds() - cpu
        result["import_cpu_postgres_s"] = cpu_seconds(backend) - server_cpu
        result["rows"] = rows
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        orders = [s for s in samples if s[0] == "orders"]
        result["rss_along_orders_mb"] = [
            round(orders[int(len(orders) * share) - 1][2]) for share in (0.1, 0.25, 0.5, 0.75, 1)
        ]
        began = time.perf_counter()
        again = run_sync(cfg).rows
        result["nothing_new_s"] = time.perf_counter() - began
        result["nothing_new_rows"] = again
        began = time.perf_counter()
        run_sync(cfg, full=True)
        result["full_again_s"] = time.perf_counter() - began
        result["stored"] = {
            model.__tablename__: db.session.query(model).count()
            for model in (Customer, Order, OrderLine)
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    path = ROOT / "bench" / "out" / f"orders-{args.lines}.csv"
    if not path.exists():
        subprocess.run(
            [sys.executable, str(Path(__file__).with_name("generate.py")), "--lines",
             str(args.lines), "--out", str(path)],
            check=True,
        )  # fmt: skip
    url = recreate(args.server)
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", url, str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        if not args.keep:
            drop(args.server)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    size = path.stat().st_size / 1e6
    print(f"file {path.name}: {size:.0f} MB, {args.lines:,} order lines")
    for key, value in result.items():
        print(f"  {key}: {round(value, 2) if isinstance(value, float) else value}")


if __name__ == "__main__":
    main()

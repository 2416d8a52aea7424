"""One request, looked at closely: its SQL statements with their times, and a cProfile.

Runs the app in-process (production config, the benchmark database) with Flask's test
client, logged in as the bench user; repeats the request, prints each statement of the
last run with its time, the mean time per request and the top functions by cumulative
time.

    .venv/bin/python bench/queue/probe.py /list/decline
    .venv/bin/python bench/queue/probe.py "/case/{case}?list=decline" --explain
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import time
from pathlib import Path

import psycopg

SERVER = "postgresql://postgres@127.0.0.1:5432"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def cpu_split() -> dict[str, list[float]]:
    """Wrap the queue's services and the template rendering to split the CPU time."""
    import flask

    from recovery.cases import lists, page
    from recovery.queue import routes

    spent: dict[str, list[float]] = {}

    def timed(module, name: str, label: str) -> None:
        original = getattr(module, name)
        spent[label] = [0.0]

        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label][0] += time.process_time() - started

        setattr(module, name, wrapper)

    timed(lists, "page", "lists.page (count and rows)")
    timed(lists, "tile_counts", "lists.tile_counts")
    timed(lists, "next_case", "lists.next_case")
    timed(page, "details", "page.details")
    timed(routes, "render_template", "render_template")
    assert routes.render_template is not flask.render_template
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", help="{case} is replaced by a new decline case's id")
    parser.add_argument("--db", default="recovery_bench")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each SELECT")
    parser.add_argument("--split", action="store_true", help="CPU per service and rendering")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="cProfile the requests, print the top N functions")  # fmt: skip
    args = parser.parse_args()
    os.environ.update(
        RECOVERY_ENV="production",
        SECRET_KEY="bench-profile-not-for-production-32-bytes",  # noqa: S106 - a throwaway app
        PUBLIC_BASE_URL="http://127.0.0.1",
        SESSION_COOKIE_SECURE="false",
        DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.db}",
    )
    from sqlalchemy import event

    from recovery import create_app
    from recovery.extensions import db

    with psycopg.connect(f"{SERVER}/{args.db}") as conn:
        cases = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM recovery_case WHERE kind = 'decline' AND status = 'new' "
                "ORDER BY id DESC LIMIT %s",
                (args.repeat + 2,),
            )
        ]
    app = create_app()
    statements: list[tuple[float, str, object]] = []
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        statements.append((time.perf_counter() - conn.info["started"], statement, parameters))

    split = cpu_split() if args.split else {}
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post(
        "/login",
        data={"email": "bench@bench.example", "password": "bench-sales-2026", "csrf_token": token},
    )
    cases = cases or [0] * (args.repeat + 2)  # a database without decline cases
    paths = [args.path.replace("{case}", str(c)) for c in cases]
    client.get(paths.pop())  # warm caches and connections
    profiler = cProfile.Profile() if args.profile else None
    started, cpu = time.perf_counter(), time.process_time()
    for path in paths[: args.repeat]:
        statements.clear()
        if profiler:
            profiler.enable()
        response = client.get(path)
        body = response.get_data()
        if profiler:
            profiler.disable()
    elapsed = (time.perf_counter() - started) / args.repeat
    cpu = (time.process_time() - cpu) / args.repeat
    print(f"app CPU {cpu * 1000:.1f} ms per request (this process)")
    for name, spent in split.items():
        print(f"  of which {name}: {spent[0] / args.repeat * 1000:.1f} ms")
    print(
        f"{args.path}: status {response.status_code}, {len(body):,} bytes, {elapsed * 1000:.1f} ms"
    )
    print(f"{len(statements)} statements, {sum(s[0] for s in statements) * 1000:.1f} ms in SQL:")
    for seconds, statement, _ in statements:
        print(f"  {seconds * 1000:7.1f} ms  {' '.join(statement.split())[:160]}")
    if args.explain:
        with engine.connect() as conn:
            for _, statement, parameters in statements:
                if statement.lstrip().upper().startswith("SELECT"):
                    plan = conn.exec_driver_sql(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                    )
                    print("\n" + " ".join(statement.split())[:300])
                    print("\n".join(row[0] for row in plan))
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("PROBE_SORT", "cumulative")).print_stats(
            args.profile
        )


if __name__ == "__main__":
    main()

"""Load test of ReConnect's pages: the app under gunicorn, 8 concurrent users, wrk.

The method of ``bench/queue/run.py`` (its gunicorn, login, wrk and CPU meter are used
here): ``gunicorn -w 4`` with the production config on ``bench_reconnect``
(``generate.py``), the bench user (sales, all companies) logged in once, each page
checked once (status and a marker, so a login redirect never passes for a fast page),
warmed up and loaded with ``wrk -t2 -c8`` for ``--duration`` seconds. Deep pages are
reached the way a user reaches them: the "next" link of the page before, and that URL
loaded.

    .venv/bin/python bench/reconnect/run.py --out bench/reconnect/results/after.json
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "queue"))

from run import App, CpuMeter, login, request, wait_quiet, wrk  # noqa: E402

DB = "bench_reconnect"
ROW = 'class="case-link"'
# name -> (path, marker, follow "next" this many times first)
ENDPOINTS = {
    "overview": ("/reconnect/", 'href="/reconnect/group/1/reachable"', 0),
    "reachable_p1": ("/reconnect/group/1/reachable", ROW, 0),
    "reachable_p200": ("/reconnect/group/1/reachable?page=199", ROW, 1),
    "unreachable_p1": ("/reconnect/group/1/unreachable", ROW, 0),
    "unreachable_p100": ("/reconnect/group/1/unreachable?page=99", ROW, 1),
    "first_p1": ("/reconnect/group/1/first", ROW, 0),
    "first_p150": ("/reconnect/group/1/first?page=150", ROW, 0),
    "followup_p1": ("/reconnect/group/1/followup", ROW, 0),
    "followup_p100": ("/reconnect/group/1/followup?page=100", ROW, 0),
    "reconnected_p1": ("/reconnect/group/1/reconnected", ROW, 0),
    "reconnected_p5": ("/reconnect/group/1/reconnected?page=5", ROW, 0),
    "reachable_small_p1": ("/reconnect/group/20/reachable", ROW, 0),
    "confirm_all": ("/reconnect/contact?all=1", 'name="csrf_token"', 0),
    "confirm_group": ("/reconnect/contact?group=1", 'name="csrf_token"', 0),
    "results": ("/reconnect/results", "<svg", 0),
}
NEXT = re.compile(r'<a href="([^"]+)" rel="next"')
# What the worker's "reconnect counts" task does every minute (``campaigns/tally.py``)
# and "reconnect results" every 5 minutes (``campaigns/results_tally.py``); run before
# each page so the pages read a count of the moment, as with a worker running.
COUNT = """
from recovery import create_app
from recovery.campaigns import results_tally, tally
from recovery.extensions import db
with create_app().app_context():
    tally.refresh()
    results_tally.refresh()
    db.session.commit()
"""


def count(db: str) -> None:
    env = {**os.environ, "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"}
    env.setdefault("SECRET_KEY", "bench-secret-not-for-production-32-bytes-or-more")
    root = HERE.parents[1]
    subprocess.run([str(root / ".venv/bin/python"), "-c", COUNT], cwd=root, env=env, check=True)


def deep(port: int, cookie: str, path: str, steps: int) -> str:
    """The URL of the page ``steps`` "next" links after ``path``."""
    for _ in range(steps):
        _response, body = request(port, path, cookie)
        found = NEXT.search(body)
        if not found:
            raise RuntimeError(f"no next link on {path}")
        path = html.unescape(found.group(1))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=DB)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--duration", type=int, default=20, help="seconds per endpoint")
    parser.add_argument("--warmup", type=int, default=5, help="seconds per endpoint, not counted")
    parser.add_argument("--only", nargs="*", choices=list(ENDPOINTS))
    parser.add_argument("--quiet", type=float, default=0.15, metavar="SHARE")
    parser.add_argument("--patience", type=int, default=120, help="seconds to wait for quiet")
    parser.add_argument("--label", default="run")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()

    results: dict[str, dict] = {}
    app = App(args.db, args.port, args.workers)
    try:
        cookie = login(args.port)
        meter = CpuMeter(app, args.db)
        for name, (path, marker, steps) in ENDPOINTS.items():
            if args.only and name not in args.only:
                continue
            path = deep(args.port, cookie, path, steps)
            response, body = request(args.port, path, cookie)
            if response.status != 200 or marker not in body:
                raise RuntimeError(f"{name}: {path} answered {response.status} without {marker!r}")
            count(args.db)
            others = wait_quiet(args.quiet, args.patience)
            if args.warmup:
                wrk(args.port, cookie, path, 200, args.warmup)
            before = meter.sample()
            measured = wrk(args.port, cookie, path, 200, args.duration)
            spent = meter.spent_ms(before, meter.sample())
            per_request = max(measured["requests"], 1)
            results[name] = {
                "path": path,
                **measured,
                "app_cpu_ms_per_request": round(spent["app"] / per_request, 1),
                "db_cpu_ms_per_request": round(spent["db"] / per_request, 1),
                "others_cpu_before": others,
            }
            print(f"{name:20} {json.dumps(results[name])}", flush=True)
    finally:
        app.stop()
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"label": args.label, **results}, indent=2) + "\n")


if __name__ == "__main__":
    main()

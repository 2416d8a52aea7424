"""Load test of the queue: the app under gunicorn, 8 concurrent users, wrk, then the CSV export.

Starts ``gunicorn -w 4`` on the benchmark database (production config), logs the bench user
in once (GET /login for the CSRF token, POST /login), checks each endpoint once (status and
a marker in the page, so a login redirect can never pass for a fast page), warms it up and
loads it with ``wrk -c 8`` for ``--duration`` seconds. Case pages rotate over a pool of
``new`` decline cases (opening a case claims it: an UPDATE, as in real use); claims left by
an earlier run are cleared first. Last, the unfiltered decline list is exported as CSV
while the serving worker's RSS is sampled from /proc.

    .venv/bin/python bench/queue/run.py --label after --out bench/queue/results/after.json
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SERVER = "postgresql://postgres@127.0.0.1:5432"
BENCH_EMAIL = "bench@bench.example"
BENCH_PASSWORD = "bench-sales-2026"  # noqa: S105 - a throwaway benchmark database

# name -> (path, expected status, a marker the body must contain)
ENDPOINTS = {
    "home": ("/", 200, 'data-tile="decline"'),
    "list": ("/list/decline", 200, 'class="case-link"'),
    "list_filtered": ("/list/decline?company=2&sort=-decline_pct&page=3", 200, 'class="case-link"'),
    "list_sorted_name": ("/list/decline?sort=name&page=2", 200, 'class="case-link"'),
    "search_name": ("/list/decline?q=schmidt", 200, 'class="case-link"'),
    "search_number": ("/list/decline?q=K10471", 200, 'class="case-link"'),
    "case": ("/case/%d?list=decline", 200, 'id="next-customer"'),
    "next": ("/case/%d/next?list=decline", 302, ""),
}


class App:
    """gunicorn with four sync workers on the benchmark database."""

    def __init__(self, db: str, port: int, workers: int):
        self.port = port
        env = {
            **os.environ,
            "RECOVERY_ENV": "production",
            "SECRET_KEY": "bench-secret-not-for-production-32-bytes-or-more",
            "PUBLIC_BASE_URL": "http://127.0.0.1",
            "SESSION_COOKIE_SECURE": "false",
            "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
        }
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
             "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def request(port: int, path: str, cookie: str = "", method: str = "GET", body: str = ""):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": cookie} if cookie else {}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body or None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data.decode("utf-8", "replace")


def cookies_of(response, jar: dict[str, str]) -> dict[str, str]:
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";")[0]
    return jar


def login(port: int) -> str:
    response, page = request(port, "/login")
    jar = cookies_of(response, {})
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"email": BENCH_EMAIL, "password": BENCH_PASSWORD, "csrf_token": token}
    )
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    response, _ = request(port, "/login", cookie, "POST", form)
    if response.status != 302 or response.headers["Location"].endswith("/login"):
        raise RuntimeError(f"login failed: {response.status}")
    jar = cookies_of(response, jar)
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def case_pool(db: str, size: int) -> list[int]:
    """``new`` decline cases in a fixed random order; earlier claims cleared."""
    with psycopg.connect(f"{SERVER}/{db}", autocommit=True) as conn:
        conn.execute(
            "UPDATE recovery_case SET claimed_by_id = NULL, claimed_until = NULL "
            "WHERE claimed_by_id IS NOT NULL"
        )
        conn.execute("VACUUM (ANALYZE) recovery_case")
        conn.execute("SELECT setseed(0.42)")
        rows = conn.execute(
            "SELECT id FROM recovery_case WHERE kind = 'decline' AND status = 'new' "
            "ORDER BY random() LIMIT %s",
            (size,),
        ).fetchall()
    return [r[0] for r in rows]


def busy_share(seconds: float = 3.0) -> float:
    """Share of all CPUs busy over ``seconds`` (while we are idle: the others' load)."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields) - idle, sum(fields)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(total1 - total0, 1)


def wait_quiet(limit: float, patience: int) -> float:
    """Wait (up to ``patience`` s) until other processes use less than ``limit`` of the CPUs:
    the machine is shared, and a benchmark next to someone's test run measures that run."""
    deadline = time.monotonic() + patience
    while (share := busy_share()) > limit and time.monotonic() < deadline:
        print(f"  waiting: others use {share:.0%} of the CPUs", flush=True)
        time.sleep(10)
    return round(share, 2)


def wrk(port: int, cookie: str, path: str, expect: int, seconds: int, ids_file: str = "") -> dict:
    threads = 2
    env = {
        **os.environ,
        "BENCH_COOKIE": cookie,
        "BENCH_EXPECT": str(expect),
        "BENCH_PATH": path,
        "BENCH_IDS": ids_file,
        "BENCH_THREADS": str(threads),
    }
    out = subprocess.run(
        ["wrk", f"-t{threads}", "-c8", f"-d{seconds}s", "--latency", "--timeout", "10s",
         "-s", str(HERE / "wrk.lua"), f"http://127.0.0.1:{port}/"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result["rps"] = round(result["requests"] / result["seconds"], 1)
    return result


class CpuMeter:
    """CPU time of the gunicorn workers and of their PostgreSQL backends: what a request
    costs, whatever else runs on the machine (parallel query workers are not counted)."""

    def __init__(self, app: App, db: str):
        self.app, self.db = app, db

    def backends(self) -> list[int]:
        with psycopg.connect(f"{SERVER}/{self.db}", autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.db,),
            ).fetchall()
        return [r[0] for r in rows]

    def sample(self) -> dict[str, dict[int, int]]:
        return {
            "app": {pid: cpu_ticks(pid) for pid in self.app.workers()},
            "db": {pid: cpu_ticks(pid) for pid in self.backends()},
        }

    @staticmethod
    def spent_ms(before: dict[str, dict[int, int]], after: dict[str, dict[int, int]]) -> dict:
        tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
        return {
            part: sum(max(t - before[part].get(pid, 0), 0) for pid, t in after[part].items())
            * tick_ms
            for part in after
        }


def rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:  # the worker died
        return 0
    return next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:"))


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return -1
    return int(fields[11]) + int(fields[12])


def export(app: App, cookie: str, path: str) -> dict:
    """Download the CSV; time to first byte and total; RSS of the serving worker."""
    workers = app.workers()
    start_rss = {pid: rss_kb(pid) for pid in workers}
    start_cpu = {pid: cpu_ticks(pid) for pid in workers}
    peak = dict(start_rss)
    running = True

    def sample() -> None:
        while running:
            for pid in workers:
                peak[pid] = max(peak[pid], rss_kb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=60)
    conn.request("GET", path, headers={"Cookie": cookie})
    response = conn.getresponse()
    first = response.read(1)
    ttfb = time.perf_counter() - started
    size, lines, error = len(first), first.count(b"\n"), None
    try:
        while chunk := response.read(65536):
            size += len(chunk)
            lines += chunk.count(b"\n")
    except http.client.IncompleteRead as exc:  # the server broke off the download
        error = f"broken off after {size + len(exc.partial):,} bytes"
    total = time.perf_counter() - started
    running = False
    sampler.join()
    conn.close()
    served = max(workers, key=lambda pid: cpu_ticks(pid) - start_cpu[pid])
    return {
        "status": response.status,
        "error": error,
        "ttfb_ms": round(ttfb * 1000, 1),
        "total_s": round(total, 2),
        "mbytes": round(size / 1e6, 1),
        "data_rows": lines - 1,
        "worker_rss_start_mb": round(start_rss[served] / 1024, 1),
        "worker_rss_peak_mb": round(peak[served] / 1024, 1),
        "worker_rss_end_mb": round(rss_kb(served) / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="recovery_bench")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--duration", type=int, default=30, help="seconds per endpoint")
    parser.add_argument("--warmup", type=int, default=5, help="seconds per endpoint, not counted")
    parser.add_argument("--only", nargs="*", choices=[*ENDPOINTS, "export"])
    parser.add_argument(
        "--quiet",
        type=float,
        default=0.15,
        metavar="SHARE",
        help="before each endpoint wait until others use less CPU than this",
    )
    parser.add_argument("--patience", type=int, default=300, help="seconds to wait for quiet")
    parser.add_argument(
        "--parallel-query",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="--no-parallel-query: max_parallel_workers_per_gather = 0 for the database",
    )
    parser.add_argument("--label", default="run")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()

    parallel = "DEFAULT" if args.parallel_query else "0"
    with psycopg.connect(f"{SERVER}/{args.db}", autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET max_parallel_workers_per_gather = {}").format(
                sql.Identifier(args.db), sql.SQL(parallel)
            )
        )
    ids = case_pool(args.db, 20_000)
    ids_file = HERE / ".case_ids.txt"
    ids_file.write_text("\n".join(map(str, ids)) + "\n")
    results: dict[str, dict] = {}
    app = App(args.db, args.port, args.workers)
    try:
        cookie = login(args.port)
        meter = CpuMeter(app, args.db)
        for name, (path, expect, marker) in ENDPOINTS.items():
            if args.only and name not in args.only:
                continue
            pool = ids_file if "%d" in path else ""
            probe = path % ids.pop() if pool else path
            response, body = request(args.port, probe, cookie)
            if response.status != expect or marker not in body:
                raise RuntimeError(f"{name}: {probe} answered {response.status} without {marker!r}")
            others = wait_quiet(args.quiet, args.patience)
            if args.warmup:
                wrk(args.port, cookie, path, expect, args.warmup, str(pool))
            if pool:  # fresh cases for the measured run: skip those the warm-up opened
                ids = ids[len(ids) // 2 :]
                ids_file.write_text("\n".join(map(str, ids)) + "\n")
            before = meter.sample()
            measured = wrk(args.port, cookie, path, expect, args.duration, str(pool))
            spent = meter.spent_ms(before, meter.sample())
            per_request = max(measured["requests"], 1)
            results[name] = {
                "path": path,
                **measured,
                "app_cpu_ms_per_request": round(spent["app"] / per_request, 1),
                "db_cpu_ms_per_request": round(spent["db"] / per_request, 1),
                "others_cpu_before": others,
            }
            print(f"{name:18} {json.dumps(results[name])}", flush=True)
        if not args.only or "export" in args.only:
            others = wait_quiet(args.quiet, args.patience)
            results["export"] = {
                **export(app, cookie, "/list/decline/export.csv"),
                "others_cpu_before": others,
            }
            print(f"{'export':18} {json.dumps(results['export'])}", flush=True)
    finally:
        app.stop()
        ids_file.unlink(missing_ok=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        header = {"label": args.label, "parallel_query": args.parallel_query}
        Path(args.out).write_text(json.dumps({**header, **results}, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Benchmark of a serial message (G4) on PostgreSQL: N group members queued by the
``serial message`` job, then sent by W worker processes against a fake Mailjet that
answers 429 beyond L calls per second (Mailjet's rate limit).

It creates a throwaway database on the server of ``--database-url``, stores N customers
(each with one order, so the variables of the last order are read as in production), a
group with all of them as members and a sender company, opens the send windows all
day, analyses the tables (as autovacuum long since has in a database in use), runs the
queueing job in this process (the worker's real job code, timed), then starts ``flask
recovery worker`` W times (each ``--rate L``, the limit they share), waits until no
message is waiting any more and checks that every member's message reached the fake
exactly once. It prints the CPU seconds beside the wall times (the machine may be
shared): of the queueing (this process and its PostgreSQL backend) and of the sending
(the workers, their backends, this process with the fake Mailjet). The database is named
``serial_bench_*`` (``--db-prefix``) and dropped at the end.

    .venv/bin/python bench/groups/serial.py
    .venv/bin/python bench/groups/serial.py --members 100000 --workers 2 --limit 50

Targets (issue 15): 100,000 members queued in at most 20 s; sent at the rate limit
(50 calls of 50 emails per second: 100,000 emails in about 40 s plus start-up). Each
worker claims up to 500 messages at once and sends them in calls of 50.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "messaging"))

from bench_worker import (  # noqa: E402
    start_worker,
    stop_workers,
    throwaway_database,
    wait_until_sent,
)

from recovery import create_app  # noqa: E402
from recovery.campaigns import serial  # noqa: E402
from recovery.campaigns.windows import save_windows  # noqa: E402
from recovery.extensions import db  # noqa: E402
from recovery.jobs.worker import JobRunner  # noqa: E402
from recovery.models import (  # noqa: E402
    Company,
    ContactGroup,
    Customer,
    GroupMember,
    Message,
    Order,
    SerialMessage,
    User,
    utcnow,
)
from tests.fakes.mailjet import FakeMailjet  # noqa: E402

LOG = Path(tempfile.gettempdir()) / "bench_serial.log"
CHUNK = 20_000
STEADY = (
    "SELECT percentile_cont(0.1) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at)),"
    " percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at)) FROM message"
)


def cpu_seconds(pids) -> float:
    """CPU seconds (user + system) so far of the processes ``pids`` on this machine."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, PermissionError):
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def backends(engine, but: int = 0) -> list[int]:
    """The PostgreSQL backends of the benchmark's database, but the asking one and
    ``but`` (the benchmark's own poll)."""
    with engine.connect() as conn:
        return conn.scalars(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid NOT IN (pg_backend_pid(), :but)"
            ),
            {"but": but},
        ).all()


def seed(app, count: int) -> int:
    """``count`` customers with one order each, all members of one group; the draft's id."""
    with app.app_context():
        db.create_all()
        now = utcnow()
        shop = Company(name="Bench GmbH", sender_email="service@bench.example", sender_name="Bench")
        admin = User(email="admin@bench.example", name="Ada Admin", role="admin")
        admin.set_password("bench-password-1234")
        group = ContactGroup(name="Stammkunden", active=True)
        db.session.add_all([shop, admin, group])
        db.session.flush()
        for start in range(0, count, CHUNK):
            rows = range(start, min(start + CHUNK, count))
            ids = db.session.scalars(
                Customer.__table__.insert().returning(Customer.__table__.c.id),
                [
                    {
                        "source": "bench",
                        "external_id": str(i),
                        "number": f"K{i}",
                        "first_name": "Anna",
                        "last_name": f"Schäfer{i}",
                        "salutation": "ms" if i % 2 else None,
                        "email": f"kunde{i}@example.de",
                        "marketing_consent": True,
                        "locale": "de",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in rows
                ],
            ).all()
            db.session.execute(
                Order.__table__.insert(),
                [
                    {
                        "customer_id": cid,
                        "company_id": shop.id,
                        "source": "bench",
                        "external_id": f"O{cid}",
                        "ordered_at": now - timedelta(days=30 + cid % 300),
                        "state": "completed",
                        "net_total": 100,
                    }
                    for cid in ids
                ],
            )
            db.session.execute(
                GroupMember.__table__.insert(),
                [
                    {"group_id": group.id, "customer_id": cid, "source": "rule", "added_at": now}
                    for cid in ids
                ],
            )
        save_windows({"weekdays": range(7), "hours": range(24)}, None)
        db.session.commit()
        # Statistics as autovacuum keeps them in a database in use: a merchant's group
        # and customers were not all stored a second before the serial message.
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        with app.test_request_context():
            draft = serial.save_draft(
                serial.Draft(
                    name="Frühjahr",
                    target=f"group:{group.id}",
                    company_id=shop.id,
                    salutation="formal",
                    subject="Neu im Frühjahr, {{var:vorname}}",
                    body="wir haben neues Saatgut für Sie.",
                ),
                admin,
            )
            db.session.commit()
            return draft.id


def queue(app, serial_id: int, engine) -> tuple[float, float, float]:
    """Send now (enqueues the job) and run the job here with the worker's code; the wall
    seconds, this process's CPU seconds and its PostgreSQL backend's (the machine may be
    shared)."""
    with app.test_request_context():
        item = db.session.get(SerialMessage, serial_id)
        serial.send_now(item, db.session.get(User, item.created_by_id))
        db.session.commit()
        server = backends(engine)
        started, cpu, server_cpu = time.monotonic(), time.process_time(), cpu_seconds(server)
        JobRunner("bench-serial", echo=lambda _line: None).run(once=True)
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        server_cpu = cpu_seconds(server) - server_cpu
        db.session.expire_all()
        item = db.session.get(SerialMessage, serial_id)
        if item.state != "sent":
            raise SystemExit(f"the job left the serial message {item.state}")
        return elapsed, cpu, server_cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=50, help="fake Mailjet calls per second")
    parser.add_argument("--queue-only", action="store_true", help="time the queueing only")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--db-prefix", default="serial_bench", help="the throwaway database's name starts so"
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake's request log
    with open(LOG, "w") as log:
        return run(args, log)


def run(args: argparse.Namespace, log) -> int:
    url, drop = throwaway_database(args.database_url, args.db_prefix)
    fake = FakeMailjet(rate_limit=args.limit)
    workers: list[subprocess.Popen] = []
    try:
        app = create_app("development", SQLALCHEMY_DATABASE_URI=url)
        started = time.monotonic()
        serial_id = seed(app, args.members)
        print(f"{args.members} members seeded in {time.monotonic() - started:.1f} s")
        engine = create_engine(url)
        load = os.getloadavg()
        queued_in, cpu, server_cpu = queue(app, serial_id, engine)
        with engine.connect() as conn:
            queued = conn.execute(select(func.count()).select_from(Message)).scalar_one()
        print(f"queued {queued} messages in {queued_in:.1f} s (target: at most 20 s)")
        print(f"  CPU: {cpu:.1f} s this process, {server_cpu:.1f} s its PostgreSQL backend")
        print(f"  load before: {load}, after: {os.getloadavg()}")
        if queued != args.members:
            print("not every member got exactly one message", file=sys.stderr)
            return 1
        if args.queue_only:
            return 0
        fake.start()
        # The backends open now (this process's pool: the seeding and the queueing) are
        # counted from here on only: their CPU so far is not the sending's.
        before = cpu_seconds(backends(engine))
        load, own_cpu = os.getloadavg(), time.process_time()
        started = time.monotonic()
        workers = [start_worker(url, fake.url, args.limit, log) for _ in range(args.workers)]
        with engine.connect() as conn:
            if not wait_until_sent(conn, args.members, workers, started + args.timeout, LOG):
                return 1
            own_cpu = time.process_time() - own_cpu
            worker_cpu = cpu_seconds(w.pid for w in workers)
            poll = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            server_cpu = cpu_seconds(backends(engine, but=poll)) - before
            first, last = conn.execute(
                select(func.min(Message.sent_at), func.max(Message.sent_at))
            ).one()
            # The steady rate, without the workers' staggered start and the last claims.
            p10, p90 = conn.execute(text(STEADY)).one()
        elapsed = time.monotonic() - started
        engine.dispose()
        counts = Counter(e.custom_id for e in fake.emails)
        duplicates = sum(1 for n in counts.values() if n > 1)
        calls = fake.call_count("/v3.1/send")
        sending = (last - first).total_seconds()
        at_limit = args.members / (50 * args.limit)
        print(f"all sent in {elapsed:.1f} s wall time, worker start-up included")
        print(f"sending (first to last message marked sent): {sending:.1f} s")
        print(f"at the rate limit ({args.limit} calls of 50 per second) it takes {at_limit:.1f} s")
        print(f"send calls: {calls}; emails at the fake: {len(fake.emails)}; dupl.: {duplicates}")
        print(f"sending rate: {args.members / sending:.0f} emails/s")
        print(f"steady rate (10th to 90th percentile): {0.8 * args.members / (p90 - p10):.0f}")
        print(
            f"CPU: workers {worker_cpu:.1f} s (start-up included), their PostgreSQL backends"
            f" {server_cpu:.1f} s, this process (the fake Mailjet, the poll) {own_cpu:.1f} s"
        )
        per = [1000 * cpu / args.members for cpu in (worker_cpu, server_cpu, own_cpu)]
        print("CPU per email: workers {:.3f} ms, backends {:.3f} ms, fake {:.3f} ms".format(*per))
        print(f"load before: {load}, after: {os.getloadavg()}")
        return 0 if duplicates == 0 and len(counts) == args.members else 1
    finally:
        stop_workers(workers)
        fake.stop()
        drop()


if __name__ == "__main__":
    sys.exit(main())

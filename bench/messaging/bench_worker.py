"""Benchmark of the sending worker: N queued emails, W worker processes, a fake Mailjet
that answers 429 beyond L calls per second, on PostgreSQL (PRODUCT.md M7, S4).

It creates a throwaway database on the server of ``--database-url``, stores the
messages, serves the fake Mailjet on 127.0.0.1, starts ``flask recovery worker`` W
times (each with ``--rate L``: the workers share the limit), waits until every message
is ``sent``, stops the workers with SIGTERM and checks that every message reached the
fake exactly once.

    .venv/bin/python bench/messaging/bench_worker.py
    .venv/bin/python bench/messaging/bench_worker.py --messages 10000 --workers 2 --limit 50

Target: 10,000 emails, 2 workers, 50 calls per second: at most 30 s.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from recovery import create_app  # noqa: E402
from recovery.extensions import db  # noqa: E402
from recovery.models import Company, Customer, Message, utcnow  # noqa: E402
from tests.fakes.mailjet import API_KEY, API_SECRET, FakeMailjet, Template  # noqa: E402

TEMPLATE_ID = 6100001
LOG = Path(tempfile.gettempdir()) / "bench_worker.log"


def throwaway_database(url: str, prefix: str = "recovery_bench") -> tuple[str, object]:
    base = make_url(url)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def seed(app, count: int) -> None:
    """``count`` customers with one queued standard email each, inserted in bulk."""
    with app.app_context():
        db.create_all()
        shop = Company(
            name="Bench GmbH",
            sender_email="service@bench.example",
            sender_name="Bench",
            standard_template_id=TEMPLATE_ID,
        )
        db.session.add(shop)
        db.session.flush()
        now = utcnow()
        db.session.execute(
            Customer.__table__.insert(),
            [
                {
                    "source": "bench",
                    "external_id": str(i),
                    "number": f"K{i}",
                    "first_name": "Erika",
                    "last_name": f"Bench{i}",
                    "email": f"kunde{i}@example.de",
                    "marketing_consent": True,
                    "locale": "de",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(count)
            ],
        )
        ids = dict(db.session.execute(select(Customer.external_id, Customer.id)).tuples().all())
        db.session.execute(
            Message.__table__.insert(),
            [
                {
                    "customer_id": ids[str(i)],
                    "company_id": shop.id,
                    "channel": "email",
                    "purpose": "queue",
                    "marketing": True,
                    "template_kind": "standard",
                    "template_id": TEMPLATE_ID,
                    "to_address": f"kunde{i}@example.de",
                    "to_name": f"Erika Bench{i}",
                    "from_address": "service@bench.example",
                    "from_name": "Bench",
                    "variables": {"vorname": "Erika", "abmeldelink": f"https://x.example/u/{i}"},
                    "state": "queued",
                    "send_after": now,
                    "attempts": 0,
                    "created_at": now,
                }
                for i in range(count)
            ],
        )
        db.session.commit()


def start_worker(database_url: str, fake_url: str, rate: float, log) -> subprocess.Popen:
    env = {
        **os.environ,
        "RECOVERY_ENV": "development",
        "DATABASE_URL": database_url,
        "MAILJET_API_KEY": API_KEY,
        "MAILJET_API_SECRET": API_SECRET,
        "MAILJET_BASE_URL": fake_url,
        "MAILJET_RETRY_BASE_SECONDS": "1",
    }
    command = [
        sys.executable, "-m", "flask", "--app", "wsgi", "recovery", "worker",
        "--batch", "50", "--rate", f"{rate:g}", "--idle", "0.2",
    ]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
    )


def wait_until_sent(conn, expected: int, workers, deadline: float, log: Path) -> bool:
    """Poll until no message is waiting or being sent any more, then check that
    ``expected`` are ``sent``; False (said why) on a timeout or when a worker died.

    The poll asks for one waiting message along the (state, send_after) index: counting
    the sent ones four times a second read the whole table each time (100 000 rows:
    tens of CPU seconds of the database beside the workers being measured).
    """
    waiting = select(Message.id).where(Message.state.in_(("queued", "sending", "unknown")))
    while True:
        busy = conn.execute(waiting.limit(1)).first() is not None
        conn.rollback()
        if not busy:
            sent = conn.execute(
                select(func.count()).select_from(Message).where(Message.state == "sent")
            ).scalar_one()
            if sent >= expected:
                return True
            print(f"{sent} of {expected} sent, none waiting", file=sys.stderr)
            return False
        if time.monotonic() > deadline:
            print("timed out with messages still waiting", file=sys.stderr)
            return False
        if any(w.poll() is not None for w in workers):
            print(f"a worker died; see {log}", file=sys.stderr)
            return False
        time.sleep(0.25)


def stop_workers(workers: list[subprocess.Popen]) -> None:
    """SIGTERM (each finishes its batch), then kill what is still running after 30 s."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=50, help="fake Mailjet calls per second")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake's request log

    with open(LOG, "w") as log:
        return run(args, log)


def run(args: argparse.Namespace, log) -> int:
    url, drop = throwaway_database(args.database_url)
    fake = FakeMailjet(templates={TEMPLATE_ID: Template(subject="Hallo")}, rate_limit=args.limit)
    workers: list[subprocess.Popen] = []
    try:
        app = create_app("development", SQLALCHEMY_DATABASE_URI=url)
        seed(app, args.messages)
        fake.start()
        print(f"{args.messages} queued emails, {args.workers} workers, fake limit {args.limit}/s")
        started = time.monotonic()
        workers = [start_worker(url, fake.url, args.limit, log) for _ in range(args.workers)]
        engine = create_engine(url)
        with engine.connect() as conn:
            if not wait_until_sent(conn, args.messages, workers, started + args.timeout, LOG):
                return 1
            states = dict(
                conn.execute(select(Message.state, func.count()).group_by(Message.state)).all()
            )
            first, last = conn.execute(
                select(func.min(Message.sent_at), func.max(Message.sent_at))
            ).one()
        elapsed = time.monotonic() - started
        engine.dispose()
        counts = Counter(e.custom_id for e in fake.emails)
        calls = fake.call_count("/v3.1/send")
        duplicates = sum(1 for n in counts.values() if n > 1)
        print(f"all sent in {elapsed:.1f} s wall time, worker start-up included")
        print(
            f"sending (first to last message marked sent): {(last - first).total_seconds():.1f} s"
        )
        needed = -(-args.messages // 50)
        print(f"send calls: {calls} ({needed} needed at 50 per call; the rest answered 429)")
        print(f"states: {states}; emails at the fake: {len(fake.emails)}; duplicates: {duplicates}")
        print(f"throughput: {args.messages / elapsed:.0f} emails/s")
        return 0 if duplicates == 0 and len(counts) == args.messages else 1
    finally:
        stop_workers(workers)
        fake.stop()
        drop()


if __name__ == "__main__":
    sys.exit(main())

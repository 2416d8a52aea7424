"""The real `flask recovery worker`: killed with SIGKILL mid-batch, stopped with SIGTERM,
and two workers at once on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from recovery.messaging.sending_loop import SendingLoop
from recovery.models import utcnow
from tests.fakes.mailjet import API_KEY, API_SECRET, SMS_TOKEN
from tests.messaging import messaging_fixtures
from tests.messaging.messaging_fixtures import FAST, bulk_messages, company, messages

mailjet, fake, online = messaging_fixtures.FIXTURES  # used as pytest fixtures


ROOT = Path(__file__).resolve().parents[2]


def worker_process(database_url: str, fake_url: str, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "RECOVERY_ENV": "development",
        "DATABASE_URL": database_url,
        "MAILJET_API_KEY": API_KEY,
        "MAILJET_API_SECRET": API_SECRET,
        "MAILJET_SMS_TOKEN": SMS_TOKEN,
        "MAILJET_BASE_URL": fake_url,
        "MAILJET_TIMEOUT_SECONDS": "10",
        "MAILJET_LOOKUP_DELAY_SECONDS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "recovery", "worker", *args]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def wait_for(condition, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_worker_killed_mid_batch_and_restarted_delivers_each_message_once(
    app, db, build, online, database_url
):
    ids = bulk_messages(company(build), 80)
    db.session.remove()
    # Mailjet takes the first batch and answers late: the worker dies while waiting.
    online.faults.add("timeout", seconds=3.0, path="/v3.1/send")
    args = ("--once", "--lease", "1", "--grace", "0", "--claim", "50")  # a claim is one call
    with worker_process(database_url, online.url, *args) as first:
        wait_for(lambda: len(online.emails) == 50)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    stored = messages(ids).values()
    assert Counter(m.state for m in stored) == {"sending": 50, "queued": 30}
    lease_left = max(m.locked_until for m in stored if m.locked_until) - utcnow()
    time.sleep(max(lease_left.total_seconds(), 0) + 0.05)  # the dead worker's lease runs out
    db.session.remove()
    with worker_process(database_url, online.url, *args) as second:
        output, _ = second.communicate(timeout=60)
    assert second.returncode == 0, output
    counts = Counter(e.custom_id for e in online.emails)
    assert sorted(counts) == sorted(str(i) for i in ids)
    assert set(counts.values()) == {1}, "a message went out twice"
    assert online.call_count("/v3/REST/message") == 50  # the lost batch, looked up
    assert {m.state for m in messages(ids).values()} == {"sent"}


def test_sigterm_finishes_the_current_batch_then_stops(app, db, build, online, database_url):
    ids = bulk_messages(company(build), 10)
    db.session.remove()
    online.faults.add("timeout", seconds=1.0, path="/v3.1/send")
    with worker_process(database_url, online.url, "--idle", "0.2") as proc:
        wait_for(lambda: len(online.emails) == 10)  # the batch is in flight
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, output
    assert "SIGTERM: stopping after the current batch" in output
    assert "stopped" in output
    assert {m.state for m in messages(ids).values()} == {"sent"}


def test_two_workers_on_postgresql_send_each_message_once(app, db, build, online):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no row locks: run one worker per SQLite database")
    ids = bulk_messages(company(build), 400)
    db.session.remove()
    options = replace(FAST, batch_size=20, claim_size=20)  # 20 claims to share
    workers = [SendingLoop(app, options), SendingLoop(app, options)]
    threads = [threading.Thread(target=w.run, kwargs={"once": True}) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    counts = Counter(e.custom_id for e in online.emails)
    assert sorted(counts) == sorted(str(i) for i in ids)
    assert set(counts.values()) == {1}, "a message went out twice"
    assert sum(w.stats.sent for w in workers) == 400
    assert all(w.stats.sent > 0 for w in workers), "one worker did all the work"
    assert {m.state for m in messages(ids).values()} == {"sent"}

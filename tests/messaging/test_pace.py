"""The sending's rate limit shared by the workers of a PostgreSQL database
(messaging/pace.py): each limiter has a connection of its own, as two workers do."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, select

from recovery.messaging.pace import SharedPace, TokenBucket, pace_for
from recovery.models import SendPace
from tests.messaging import messaging_fixtures
from tests.messaging.messaging_fixtures import bulk_messages, company, run_worker

mailjet, fake, online = messaging_fixtures.FIXTURES  # used as pytest fixtures


@pytest.fixture()
def postgres(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the shared schedule is PostgreSQL's (TEST_DATABASE_URL)")
    return db


def _slots(pace: SharedPace, calls: int, source: str) -> list[float]:
    """The start of each call's slot on this machine's clock (its sleep is a no-op)."""
    slots = []
    for _ in range(calls):
        wait = pace.take(source)
        slots.append(time.monotonic() + wait)
    return slots


def test_one_limiter_spaces_its_calls(postgres):
    waits: list[float] = []
    pace = SharedPace(postgres.engine, 10, headroom=0, sleep=waits.append)
    try:
        slots = _slots(pace, 8, "test:one")
    finally:
        pace.close()
    assert len(waits) == 7  # the first call goes at once
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert all(0.095 < gap < 0.105 for gap in gaps), gaps


def test_two_limiters_on_two_connections_never_share_a_slot(postgres):
    first = SharedPace(postgres.engine, 20, headroom=0, sleep=lambda _s: None)
    second = SharedPace(postgres.engine, 20, headroom=0, sleep=lambda _s: None)
    try:
        slots = [s for _ in range(10) for p in (first, second) for s in _slots(p, 1, "test:two")]
    finally:
        first.close()
        second.close()
    slots.sort()
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert all(gap > 0.045 for gap in gaps), gaps  # 20 per second: one every 50 ms


def test_two_workers_together_keep_to_the_rate_in_real_time(postgres):
    """Two threads, each with a limiter of its own at the account's 20/s, for 1.2 s:
    together about 24 calls, not 48, and about 20 in any second (a thread may wake a
    few milliseconds late under load: one call of margin)."""
    calls: list[float] = []
    lock = threading.Lock()
    engine = postgres.engine  # the app context is this thread's
    end = time.monotonic() + 1.2

    def worker() -> None:
        pace = SharedPace(engine, 20)
        try:
            while True:
                pace.take("test:real")
                now = time.monotonic()
                if now >= end:
                    return
                with lock:
                    calls.append(now)
        finally:
            pace.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    calls.sort()
    busiest = max(sum(1 for c in calls if start <= c < start + 1.0) for start in calls)
    assert busiest <= 21
    assert 20 <= len(calls) <= 25


def test_sqlite_falls_back_to_the_bucket_postgresql_shares(db):
    pace = pace_for(db.engine, 50)
    try:
        shared = db.engine.dialect.name == "postgresql"
        assert isinstance(pace, SharedPace if shared else TokenBucket)
    finally:
        pace.close()


def test_the_worker_paces_its_calls_on_the_database_on_postgresql(app, db, build, online):
    bulk_messages(company(build), 30)
    stats = run_worker(app, batch_size=10)
    assert stats.sent == 30
    rows = db.session.scalars(select(SendPace)).all()
    if db.engine.dialect.name == "postgresql":
        [row] = rows
        assert row.source == "mailjet"
        assert row.tat > time.time() - 60  # the database's clock, as epoch seconds
    else:
        assert rows == []


def test_the_limiter_uses_the_apps_engine_and_hands_its_connection_back_as_it_was(postgres):
    """The limiter's connection comes from the application's engine (its connect
    options, its pool); the session setting it makes does not stay behind in the pool."""
    engine = create_engine(postgres.engine.url, pool_size=1, max_overflow=0)
    try:
        pace = SharedPace(engine, 10)
        pace.take("test:pool")
        assert engine.pool.checkedout() == 1  # held by the limiter, from this pool
        pace.close()
        assert engine.pool.checkedout() == 0
        with engine.connect() as connection:  # the pool's only connection: the limiter's
            assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    finally:
        engine.dispose()

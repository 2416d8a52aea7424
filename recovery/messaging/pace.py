"""The sending's rate limit: Mailjet counts the calls of an account, not of a process.

``MAILJET_RATE_PER_SECOND`` is the account's limit for all workers together. Every
Mailjet call (a send of up to 50 emails, a look-up by CustomID) takes one slot of the
source ``mailjet``; an SMS takes one of its provider's source (``sms:twilio`` …) at
the same rate.

**PostgreSQL** (several workers, possibly on several machines): the workers share one
schedule per source, the generic cell rate algorithm ("virtual scheduling"). The row of
the source in ``send_pace`` holds the next free slot on the database's clock; before a
call a worker moves it on by one interval and gets its slot back in one autocommit
statement on a connection of its own (never the sending session's transaction), then
sleeps until the slot. A worker that pauses (claiming and checking its next batch)
leaves its slots to the others, and two workers never take the same slot, so the calls
of all workers together keep to the limit. There is no burst: the slots of a pause are
not saved up (Mailjet counts any one second). The interval has a little headroom, as a
call reaches Mailjet some milliseconds after its slot, a few more or less each time.
Reservations need no durability (``synchronous_commit = off``): a slot lost in a crash
is a slot not used.

**SQLite** (one worker per database): an in-process token bucket, one for every source.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

MAILJET = "mailjet"  # the source of Mailjet's email calls (sends and look-ups)

# Share of the limit left unused: a call reaches Mailjet a few milliseconds after its
# slot, not always by the same amount, and Mailjet counts any one second.
HEADROOM = 0.01

_RESERVE = text(
    "INSERT INTO send_pace (source, tat)"
    " VALUES (:source, extract(epoch FROM clock_timestamp())::float8 + :interval)"
    " ON CONFLICT (source) DO UPDATE SET tat = greatest("
    "send_pace.tat, extract(epoch FROM clock_timestamp())::float8) + :interval"
    " RETURNING tat - extract(epoch FROM clock_timestamp())::float8"
)


class Pace(Protocol):
    def take(self, source: str = MAILJET) -> float:
        """Wait for the next call's slot; returns the seconds waited."""

    def close(self) -> None: ...


class TokenBucket:
    """At most ``rate`` calls per second on average, bursts up to ``burst``; thread-safe.
    One bucket for every source: one process, one limit.

    The default burst is a tenth of a second's calls (at least one): Mailjet counts the
    calls of each second, so a bucket that could burst a whole second's worth after a
    pause (reading the next claim) sent up to twice the limit in one second and got 429
    for the excess (the serial benchmark: 228 of 2 228 calls refused at 2 × 25/s)."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate / 10)
        self._tokens = self.capacity
        self._clock, self._sleep = clock, sleep
        self._last = clock()
        self._lock = threading.Lock()

    def take(self, source: str = MAILJET) -> float:
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return waited
                wait = (1 - self._tokens) / self.rate
            self._sleep(wait)
            waited += wait

    def close(self) -> None:
        pass


class SharedPace:
    """The schedule of every worker of a PostgreSQL database (see the module)."""

    def __init__(
        self,
        engine: Engine,
        rate: float,
        headroom: float = HEADROOM,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1 / (rate * (1 - headroom))
        # A connection of the application's engine (its connect options: SSL and the
        # like) held for the limiter's life in autocommit: never inside the sending's
        # transaction. Its session setting is reset before it goes back to the pool.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sleep = sleep
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def take(self, source: str = MAILJET) -> float:
        wait = self._reserve(source) - self.interval
        if wait <= 0:
            return 0.0
        self._sleep(wait)
        return wait

    def _reserve(self, source: str) -> float:
        """Take the next slot of ``source``; seconds from now to the end of the slot."""
        with self._lock:
            try:
                return self._execute(source)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                self._close()  # the server restarted or dropped us: once more, anew
                return self._execute(source)

    def _execute(self, source: str) -> float:
        if self._connection is None:
            self._connection = self._engine.connect()
            self._connection.exec_driver_sql("SET synchronous_commit = off")
        params = {"source": source, "interval": self.interval}
        return self._connection.execute(_RESERVE, params).scalar_one()

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._connection is not None:
            try:
                if not self._connection.invalidated:
                    self._connection.exec_driver_sql("RESET synchronous_commit")
            finally:
                self._connection.close()
                self._connection = None


def pace_for(engine: Engine, rate: float) -> Pace:
    """The shared schedule on PostgreSQL, a token bucket elsewhere (one worker)."""
    if engine.dialect.name == "postgresql":
        return SharedPace(engine, rate)
    return TokenBucket(rate)

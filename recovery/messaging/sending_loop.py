"""The sending loop of ``flask recovery worker`` (PRODUCT.md M7, S2, S4).

It sends due messages in batches (see ``sending.py`` for claims, leases and lost
answers), in a thread of its own beside the jobs and the recurring tasks
(recovery/jobs/worker.py, which stops it after the current batch).

Several workers may run against one PostgreSQL database, on several machines. With
SQLite run a single worker: SQLite has no row locks (the lease still protects a
restarted worker). Each worker has its own Mailjet connection; the rate limit
(``--rate``, the account's) is shared by all workers of a PostgreSQL database
(``pace.py``).

This module never creates the app; the CLI (or a test) hands one in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime

from flask import Flask

from ..extensions import db
from ..jobs.worker import make_worker_id
from ..models import utcnow
from . import outbox
from .options import MessagingOptions
from .pace import pace_for
from .sending import BatchResult, Sender, transport_from_config

log = logging.getLogger(__name__)


@dataclass
class SendingStats:
    batches: int = 0
    claimed: int = 0
    sent: int = 0
    resolved: int = 0
    failed: int = 0
    cancelled: int = 0
    retry: int = 0
    unknown: int = 0
    outbox: int = 0
    held: int = 0
    errors: int = 0

    def add(self, result: BatchResult) -> None:
        self.batches += 1
        for f in fields(self):
            if f.name not in ("batches", "errors"):
                setattr(self, f.name, getattr(self, f.name) + getattr(result, f.name))

    def summary(self) -> str:
        return ", ".join(f"{f.name} {getattr(self, f.name)}" for f in fields(self))


class SendingLoop:
    def __init__(
        self,
        app: Flask,
        options: MessagingOptions | None = None,
        *,
        now: Callable[[], datetime] = utcnow,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.options = options or MessagingOptions.from_config(app.config)
        self.worker_id = make_worker_id()
        self.now = now
        self.echo = echo or (lambda _line: None)
        self.stats = SendingStats()
        self._stop = threading.Event()

    def with_options(self, **changes) -> SendingLoop:
        self.options = replace(self.options, **{k: v for k, v in changes.items() if v is not None})
        return self

    # -- stopping ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Finish the current batch, then return from :meth:`run`."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- running -------------------------------------------------------------------------------

    def run(self, once: bool = False) -> SendingStats:
        """Send until stopped; with ``once``, until nothing is due."""
        # A request context gives translations and URL building what they expect
        # (the locale falls back to the business default); it opens no socket.
        with self.app.test_request_context(base_url=self.app.config["PUBLIC_BASE_URL"]):
            transport = None
            if not outbox.offline():
                transport = transport_from_config(self.app.config, self.options)
            pace = pace_for(db.engine, self.options.rate)
            sender = Sender(self.worker_id, self.options, transport, pace, now=self.now)
            try:
                while not self.stopping:
                    self._send_due(sender, once)
                    if once:
                        break
                    self._wait(self.options.idle_seconds)
            finally:
                pace.close()
                if transport is not None:
                    transport.close()
        return self.stats

    def _send_due(self, sender: Sender, once: bool) -> None:
        while not self.stopping:
            try:
                result = sender.run_batch()
            except Exception:
                db.session.rollback()
                self.stats.errors += 1
                log.exception("worker %s: batch failed", self.worker_id)
                if once:
                    raise
                self._wait(self.options.idle_seconds)
                return
            if not result.claimed:
                return
            self.stats.add(result)
            self.echo(self._line(result))
            if result.pause:  # Mailjet said "slow down": honour it for every message
                if once:
                    return
                self._wait(result.pause)

    def _wait(self, seconds: float) -> None:
        self._stop.wait(seconds)

    @staticmethod
    def _line(r: BatchResult) -> str:
        parts = [
            f"{n} {label}"
            for label, n in (
                ("sent", r.sent),
                ("found at Mailjet", r.resolved),
                ("to outbox", r.outbox),
                ("retry later", r.retry),
                ("unknown", r.unknown),
                ("failed", r.failed),
                ("cancelled", r.cancelled),
                ("held by the cap", r.held),
            )
            if n
        ]
        return f"batch of {r.claimed}: " + (", ".join(parts) or "nothing to do")

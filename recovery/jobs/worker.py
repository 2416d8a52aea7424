"""The worker behind ``flask recovery worker``: job rows, recurring tasks, worker loops.

Each part runs in a thread of its own with its own app context: the job runner (one
job at a time), the recurring tasks (reminders, webhook retries, the nightly
schedule …) and each registered loop (sending messages). So a sync that takes an hour
never holds up sending, and a slow Mailjet never holds up a sync. ``--only`` runs some
parts, e.g. a second process only for jobs. SIGTERM and SIGINT stop every part after
what it is doing now; a job cut off harder (SIGKILL, a lost machine) is taken over by
the next worker when its lease has run out (``rows.py``).

This module never creates the app; the CLI (or a test) hands one in.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask

from ..extensions import db
from ..models import JobRun, utcnow
from . import registry, rows

log = logging.getLogger(__name__)
Echo = Callable[[str], None]


def make_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]


@dataclass
class JobContext:
    """What a job kind's ``run`` gets: its parameters and a way to report progress."""

    job_id: int
    kind: str
    params: dict[str, Any]
    user_id: int | None
    worker_id: str
    attempt: int
    echo: Echo | None = None  # where the steps are told as well (the command line)

    def progress(self, message: str | None = None, **counts: Any) -> bool:
        """Report in the caller's transaction (it commits); renews the lease."""
        step = rows.Progress(message, **counts)
        return rows.progress(self.job_id, self.kind, self.worker_id, step)

    def step(self, message: str) -> None:
        """Report a step at once, in a transaction of its own; renews the lease."""
        rows.report(self.job_id, self.kind, self.worker_id, rows.Progress(message))
        if self.echo is not None:
            self.echo(message)


class JobRunner:
    """Claims due jobs of the registered kinds and runs them one after another."""

    def __init__(self, worker_id: str, echo: Echo, now: Callable[[], datetime] = utcnow):
        self.worker_id = worker_id
        self.echo = echo
        self.now = now
        self.idle_seconds = 1.0
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run_next(self) -> JobRun | None:
        """Claim and run one due job; None when nothing is due."""
        job = rows.claim(self.worker_id, registry.kind_names(), self.now())
        if job is not None:
            self.run_claimed(job)
        return job

    def run_claimed(self, job: JobRun, echo_steps: bool = False) -> None:
        ctx = JobContext(
            job.id,
            job.kind,
            dict(job.params or {}),
            job.created_by_id,
            self.worker_id,
            job.attempts,
            self.echo if echo_steps else None,
        )
        self.echo(f"job {job.id} ({job.kind}) started, attempt {job.attempts}")
        started = time.perf_counter()
        try:
            result = registry.kind(job.kind).run(ctx)
        except rows.Wait as wait:
            db.session.rollback()
            rows.put_back(ctx.job_id, self.worker_id, wait.seconds, str(wait))
            self.echo(f"job {ctx.job_id} ({ctx.kind}) waits: {wait}")
            _log_job(ctx, "waiting", started)
            return
        except rows.JobFailed as exc:
            db.session.rollback()
            ended = rows.fail(ctx.job_id, self.worker_id, str(exc), exc.result)
        except Exception as exc:
            db.session.rollback()
            log.exception("job %s (%s) failed", ctx.job_id, ctx.kind)
            ended = rows.fail(ctx.job_id, self.worker_id, f"{type(exc).__name__}: {exc}")
        else:
            ended = rows.finish(ctx.job_id, self.worker_id, result)
        job = db.session.get(JobRun, ctx.job_id, populate_existing=True)
        if ended:
            self.echo(
                f"job {job.id} ({job.kind}) {job.state}" + (f": {job.error}" if job.error else "")
            )
            _log_job(ctx, job.state, started)
        else:
            self.echo(f"job {ctx.job_id} ({ctx.kind}): its lease ran out; another worker has it")
            _log_job(ctx, "lost", started)

    def run(self, once: bool = False) -> int:
        """Run due jobs until stopped; with ``once``, until none is due. Returns the count."""
        count = 0
        while not self._stop.is_set():
            try:
                job = self.run_next()
            except Exception:
                db.session.rollback()
                log.exception("worker %s: claiming a job failed", self.worker_id)
                if once:
                    raise
                job = None
            if job is not None:
                count += 1
                continue
            if once:
                break
            self._stop.wait(self.idle_seconds)
        return count


def _log_job(ctx: JobContext, state: str, started: float) -> None:
    """One line per job run (JSON in production, recovery/logs.py)."""
    ms = round((time.perf_counter() - started) * 1000, 1)
    log.info(
        "job %s (%s) %s in %s ms",
        ctx.job_id,
        ctx.kind,
        state,
        ms,
        extra={
            "fields": {
                "type": "job",
                "kind": ctx.kind,
                "id": ctx.job_id,
                "state": state,
                "ms": ms,
                "attempt": ctx.attempt,
                "worker": ctx.worker_id,
            }
        },
    )


class Ticker:
    """Runs the recurring tasks, each every so many seconds."""

    def __init__(self, worker_id: str, echo: Echo, now: Callable[[], datetime] = utcnow):
        self.worker_id = worker_id
        self.echo = echo
        self.now = now
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self, once: bool = False) -> None:
        due: dict[str, float] = {}
        while not self._stop.is_set():
            for task in registry.recurring_tasks():
                if time.monotonic() < due.get(task.name, 0.0):
                    continue
                try:
                    task.run(self.now())
                except Exception:
                    db.session.rollback()
                    log.exception("worker %s: %s failed", self.worker_id, task.name)
                    if once:
                        raise
                due[task.name] = time.monotonic() + task.every
            if once:
                return
            self._stop.wait(1.0)


def run_here(kind: str, params: dict[str, Any] | None = None, echo: Echo = print) -> JobRun:
    """Enqueue a job and run it in this process at once (the command line): the same row,
    progress and outcome as in the worker, with its steps told to ``echo``."""
    job_id = rows.enqueue(kind, params).id
    db.session.commit()
    runner = JobRunner(make_worker_id(), echo)
    job = rows.claim(runner.worker_id, [kind], job_id=job_id)
    if job is None:  # a worker took it in between: it runs there
        raise LookupError(f"job {job_id} was taken by a worker")
    runner.run_claimed(job, echo_steps=True)
    return db.session.get(JobRun, job_id, populate_existing=True)


PARTS = ("ticks", "jobs")


@dataclass
class Worker:
    """All parts of one worker process; ``only`` names the parts to run (default all)."""

    app: Flask
    options: dict[str, Any] = field(default_factory=dict)
    only: tuple[str, ...] = ()
    echo: Echo = print
    now: Callable[[], datetime] = utcnow

    def __post_init__(self) -> None:
        self.worker_id = make_worker_id()
        self.jobs = JobRunner(self.worker_id, self.echo, self.now)
        self.ticker = Ticker(self.worker_id, self.echo, self.now)
        self._stopped = threading.Event()

    @staticmethod
    def part_names() -> list[str]:
        return [*PARTS, *registry.loops()]

    def _parts(self) -> list[tuple[str, registry.Loop]]:
        parts: list[tuple[str, registry.Loop]] = [("ticks", self.ticker), ("jobs", self.jobs)]
        for name, factory in registry.loops().items():
            if not self.only or name in self.only:
                parts.append((name, factory(self.app, self.options, self.echo)))
        return [(name, part) for name, part in parts if not self.only or name in self.only]

    def run(self, once: bool = False) -> None:
        """Run every part until stopped; with ``once``: each in turn until nothing is due."""
        parts = self._parts()
        if once:
            for _name, part in parts:
                self._in_context(part, once=True)
            return
        threads = [
            threading.Thread(target=self._in_context, args=(part,), name=f"worker-{name}")
            for name, part in parts
        ]
        for thread in threads:
            thread.start()
        self._stopped.wait()
        for _name, part in parts:
            part.stop()
        for thread in threads:
            thread.join()

    def _in_context(self, part: registry.Loop, once: bool = False) -> None:
        # A request context gives translations and URL building what they expect
        # (the locale falls back to the business default); it opens no socket.
        with self.app.test_request_context(base_url=self.app.config["PUBLIC_BASE_URL"]):
            if once:
                part.run(once=True)
                return
            try:
                part.run()
            finally:
                db.session.remove()
                self.stop()  # one part ended on its own: stop the others too

    def stop(self) -> None:
        self._stopped.set()

    def install_signal_handlers(self) -> None:
        def handle(signum, _frame) -> None:
            self.echo(f"{signal.Signals(signum).name}: stopping after the current batch and job")
            self.stop()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

"""What the worker can run: job kinds, recurring tasks and worker loops, by name.

Each domain registers its own in its own module (``sources/jobs.py``,
``messaging/jobs.py``, ``cases/jobs.py``), imported by ``create_app``; this package
never imports them, so the scheduler enqueues "sync" and "analyze" by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import Flask


@dataclass(frozen=True)
class JobKind:
    """``run(ctx)`` does the work and returns the result (JSON-serialisable) or None.

    ``lease`` must cover the longest stretch between two progress reports: a job whose
    lease ran out counts as abandoned and another worker takes it over.
    """

    name: str
    run: Callable[[Any], dict[str, Any] | None]
    lease: timedelta
    max_attempts: int


@dataclass(frozen=True)
class Recurring:
    """A task the worker runs every ``every`` seconds: ``run(now)``; it commits itself."""

    name: str
    run: Callable[[datetime], object]
    every: float


class Loop(Protocol):
    """Work that runs beside the jobs in a thread of its own (e.g. sending messages)."""

    def run(self, once: bool = False) -> object: ...

    def stop(self) -> None: ...


LoopFactory = Callable[[Flask, dict[str, Any], Callable[[str], None]], Loop]

_kinds: dict[str, JobKind] = {}
_recurring: dict[str, Recurring] = {}
_loops: dict[str, LoopFactory] = {}


def job_kind(name: str, *, lease: timedelta = timedelta(minutes=5), max_attempts: int = 3):
    """Register ``run(ctx)`` as the job kind ``name``."""

    def register(run: Callable[[Any], dict[str, Any] | None]):
        _kinds[name] = JobKind(name, run, lease, max_attempts)
        return run

    return register


def recurring(name: str, *, every: float):
    """Register ``run(now)`` to run every ``every`` seconds in each worker."""

    def register(run: Callable[[datetime], object]):
        _recurring[name] = Recurring(name, run, every)
        return run

    return register


def worker_loop(name: str):
    """Register ``factory(app, options, echo) -> Loop``; options are the worker's CLI options."""

    def register(factory: LoopFactory) -> LoopFactory:
        _loops[name] = factory
        return factory

    return register


def kind(name: str) -> JobKind:
    try:
        return _kinds[name]
    except KeyError:
        raise LookupError(f"no job kind {name!r} is registered") from None


def kind_names() -> list[str]:
    return sorted(_kinds)


def recurring_tasks() -> list[Recurring]:
    return list(_recurring.values())


def loops() -> dict[str, LoopFactory]:
    return dict(_loops)

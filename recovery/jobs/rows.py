"""The job row API: enqueue, claim with a lease, progress, finish, fail.

A worker claims the oldest due job: a ``queued`` one whose ``run_after`` has come, or a
``running`` one whose lease ran out (its worker died or hangs). The claim is a
compare-and-set UPDATE that sets ``lease_owner``/``lease_until`` and counts the
attempt; on PostgreSQL the candidate row is read ``FOR UPDATE SKIP LOCKED``, so several
workers never wait for or take the same row. (SQLite has no row locks: the UPDATE still
lets only one claimer win, but run one worker per SQLite database.) Progress renews
the lease; finishing writes only while the lease is still this worker's, so a worker
that lost its job to another never overwrites the other's outcome. A job abandoned
``max_attempts`` times fails for good.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import OperationalError

from ..extensions import db
from ..models import JobRun, utcnow
from . import registry

ACTIVE = ("queued", "running")
GAVE_UP = "interrupted: the worker running it stopped %s times before it finished"


class Wait(Exception):
    """Raised by a job that cannot run yet: it goes back to the queue for ``seconds``."""

    def __init__(self, seconds: float, message: str):
        super().__init__(message)
        self.seconds = seconds


class JobFailed(Exception):
    """Raised by a job that ends as failed with a message (and a result) for the user."""

    def __init__(self, message: str, result: dict[str, Any] | None = None):
        super().__init__(message)
        self.result = result or {}


def enqueue(
    kind: str,
    params: dict[str, Any] | None = None,
    user_id: int | None = None,
    *,
    run_after: datetime | None = None,
) -> JobRun:
    """Add a queued job of a registered kind; the caller commits."""
    job = JobRun(
        kind=registry.kind(kind).name,
        state="queued",
        params=params or {},
        created_by_id=user_id,
        message="queued",
        run_after=run_after,
        max_attempts=registry.kind(kind).max_attempts,
    )
    db.session.add(job)
    db.session.flush()
    return job


def _claimable(now: datetime):
    return and_(
        JobRun.attempts < JobRun.max_attempts,
        or_(
            and_(
                JobRun.state == "queued", or_(JobRun.run_after.is_(None), JobRun.run_after <= now)
            ),
            and_(JobRun.state == "running", JobRun.lease_until < now),
        ),
    )


def claim(
    worker_id: str, kinds: Iterable[str], now: datetime | None = None, job_id: int | None = None
) -> JobRun | None:
    """The oldest due job of ``kinds`` (or the job ``job_id``), now leased to ``worker_id``;
    commits."""
    now = now or utcnow()
    kinds = list(kinds)
    _give_up_abandoned(now)
    stmt = (
        select(JobRun.id, JobRun.kind)
        .where(JobRun.kind.in_(kinds), _claimable(now))
        .order_by(JobRun.id)
        .limit(1)
    )
    if job_id is not None:
        stmt = stmt.where(JobRun.id == job_id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    row = db.session.execute(stmt).first()
    if row is None:
        db.session.rollback()
        return None
    claimed = db.session.execute(
        update(JobRun)
        .where(JobRun.id == row.id, _claimable(now))
        .values(
            state="running",
            lease_owner=worker_id,
            lease_until=now + registry.kind(row.kind).lease,
            attempts=JobRun.attempts + 1,
            started_at=func.coalesce(JobRun.started_at, now),
            message="starting",
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return db.session.get(JobRun, row.id, populate_existing=True) if claimed else None


def _give_up_abandoned(now: datetime) -> None:
    """Jobs abandoned as often as they may be fail for good."""
    abandoned = db.session.scalars(
        select(JobRun).where(
            JobRun.state == "running",
            JobRun.lease_until < now,
            JobRun.attempts >= JobRun.max_attempts,
        )
    ).all()
    for job in abandoned:
        job.state, job.message, job.finished_at = "failed", "failed", now
        job.error = GAVE_UP % job.attempts
        job.lease_owner = job.lease_until = None
    db.session.commit()


@dataclass(frozen=True)
class Progress:
    """What a job reports: any of a message, counts and the result so far."""

    message: str | None = None
    done: int | None = None
    total: int | None = None
    result: dict[str, Any] | None = None

    def values(self, kind: str, now: datetime) -> dict[str, Any]:
        values: dict[str, Any] = {"lease_until": now + registry.kind(kind).lease}
        if self.message is not None:
            values["message"] = self.message[:500]
        if self.done is not None:
            values["progress_done"] = self.done
        if self.total is not None:
            values["progress_total"] = self.total
        if self.result is not None:
            values["result"] = self.result
        return values


def _ours(job_id: int, worker_id: str):
    return update(JobRun).where(
        JobRun.id == job_id, JobRun.state == "running", JobRun.lease_owner == worker_id
    )


def progress(job_id: int, kind: str, worker_id: str, report: Progress) -> bool:
    """Write ``report`` and renew the lease in the caller's transaction; False: not ours."""
    stmt = _ours(job_id, worker_id).values(**report.values(kind, utcnow()))
    return db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount == 1


def report(job_id: int, kind: str, worker_id: str, step: Progress) -> bool:
    """Like :func:`progress`, in a transaction of its own (visible at once).

    For steps of a computation whose own transaction stays open until its end. When
    that transaction holds SQLite's write lock, the step is skipped, not waited for.
    """
    stmt = _ours(job_id, worker_id).values(**step.values(kind, utcnow()))
    with db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
            conn.exec_driver_sql("PRAGMA busy_timeout = 50")
        try:
            written = conn.execute(stmt).rowcount == 1
            conn.commit()
        except OperationalError:
            conn.rollback()
            written = False
        finally:
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(timeout)}")
    return written


def _end(job_id: int, worker_id: str, **values: Any) -> bool:
    values.update(lease_owner=None, lease_until=None)
    done = db.session.execute(
        _ours(job_id, worker_id).values(**values).execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return done == 1


def finish(job_id: int, worker_id: str, result: dict[str, Any] | None = None) -> bool:
    """Mark the job done with ``result`` merged into what it reported; commits."""
    return _end(
        job_id,
        worker_id,
        state="done",
        message="done",
        error=None,
        result=_merged(job_id, result),
        finished_at=utcnow(),
    )


def fail(job_id: int, worker_id: str, error: str, result: dict[str, Any] | None = None) -> bool:
    """Mark the job failed with ``error``; commits."""
    return _end(
        job_id,
        worker_id,
        state="failed",
        message="failed",
        error=error,
        result=_merged(job_id, result),
        finished_at=utcnow(),
    )


def put_back(job_id: int, worker_id: str, seconds: float, message: str) -> bool:
    """Queue the job again for later; the attempt does not count. Commits."""
    return _end(
        job_id,
        worker_id,
        state="queued",
        message=message[:500],
        run_after=utcnow() + timedelta(seconds=seconds),
        attempts=JobRun.attempts - 1,
    )


def _merged(job_id: int, result: dict[str, Any] | None) -> dict[str, Any]:
    reported = db.session.scalar(select(JobRun.result).where(JobRun.id == job_id)) or {}
    return {**reported, **(result or {})}


def unfinished(job_ids: Iterable[int]) -> int:
    """How many of these jobs are still queued or running."""
    ids = list(job_ids)
    if not ids:
        return 0
    return db.session.scalar(
        select(func.count(JobRun.id)).where(JobRun.id.in_(ids), JobRun.state.in_(ACTIVE))
    )


def latest(kind: str, limit: int = 5) -> list[JobRun]:
    return list(
        db.session.scalars(
            select(JobRun).where(JobRun.kind == kind).order_by(JobRun.id.desc()).limit(limit)
        )
    )

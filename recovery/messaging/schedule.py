"""Scheduled work the worker runs between batches: due reminders and the nightly run.

The nightly sync + analysis runs once per night even with several workers: the
worker that first inserts the ``nightly:<date>`` settings row (a primary key, so a
second insert fails) owns that night. If that worker dies mid-run, the night's
job row stays ``running`` with its last progress; the next night runs as usual.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, delete, exists, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Case, CaseEvent, ConnectorConfig, JobRun, Setting, utcnow

SETTINGS_KEY = "worker"
NIGHT_KEY = "nightly:"
KEEP_NIGHTS = 60


@dataclass(frozen=True)
class WorkerSettings:
    nightly_enabled: bool = False
    nightly_hour: int = 2  # in the business time zone

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> WorkerSettings:
        hour = int(values.get("nightly_hour", cls.nightly_hour))
        if not 0 <= hour <= 23:
            raise ValueError("nightly_hour must be between 0 and 23")
        return cls(nightly_enabled=bool(values.get("nightly_enabled", False)), nightly_hour=hour)


def worker_settings() -> WorkerSettings:
    row = db.session.get(Setting, SETTINGS_KEY)
    return WorkerSettings.from_dict(row.value if row else {})


def save_worker_settings(values: dict[str, Any], user_id: int | None) -> WorkerSettings:
    """Validate and store; the caller commits."""
    settings = WorkerSettings.from_dict(values)
    row = db.session.get(Setting, SETTINGS_KEY)
    if row is None:
        row = Setting(key=SETTINGS_KEY)
        db.session.add(row)
    row.value = asdict(settings)
    row.updated_by_id = user_id
    return settings


def record_due_reminders(now: datetime | None = None, limit: int = 500) -> int:
    """Note "reminder due" once in the history of every case whose reminder passed."""
    now = now or utcnow()
    noted = exists().where(
        CaseEvent.case_id == Case.id,
        CaseEvent.kind == "reminder_due",
        CaseEvent.created_at >= Case.remind_at,
    )
    due = db.session.execute(
        select(Case.id, Case.remind_at)
        .where(Case.status == "reminder", Case.remind_at <= now, ~noted)
        .order_by(Case.remind_at)
        .limit(limit)
    ).all()
    count = 0
    for case_id, remind_at in due:
        db.session.add(
            CaseEvent(
                case_id=case_id,
                kind="reminder_due",
                data={"remind_at": remind_at.isoformat()},
                # Unique: a second worker noting the same reminder changes nothing.
                form_token=f"reminder-due:{case_id}:{int(remind_at.timestamp())}",
                created_at=now,
            )
        )
        try:
            db.session.commit()
            count += 1
        except IntegrityError:
            db.session.rollback()
    return count


def night_due(now: datetime, settings: WorkerSettings) -> date | None:
    """The local date whose nightly run is due at ``now``, if any."""
    if not settings.nightly_enabled:
        return None
    local = now.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"]))
    return local.date() if local.hour >= settings.nightly_hour else None


def claim_night(night: date, now: datetime | None = None) -> JobRun | None:
    """The job row for ``night`` if this worker is the first to claim it, else None."""
    now = now or utcnow()
    key = NIGHT_KEY + night.isoformat()
    if db.session.get(Setting, key) is not None:
        db.session.rollback()
        return None
    job = JobRun(
        kind="nightly",
        state="running",
        params={"night": night.isoformat()},
        message="starting",
        started_at=now,
    )
    db.session.add(job)
    db.session.flush()
    db.session.add(Setting(key=key, value={"job_id": job.id}))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    cutoff = NIGHT_KEY + (night - timedelta(days=KEEP_NIGHTS)).isoformat()
    db.session.execute(
        delete(Setting).where(and_(Setting.key.startswith(NIGHT_KEY), Setting.key < cutoff))
    )
    db.session.commit()
    return job


def run_nightly(job_id: int) -> JobRun:
    """Sync every enabled connector, then analyse; progress and errors on the job row."""
    from ..cases import run_analysis
    from ..sync import run_sync

    connectors = db.session.scalars(
        select(ConnectorConfig)
        .where(ConnectorConfig.enabled.is_(True))
        .order_by(ConnectorConfig.id)
    ).all()
    names = [(c.id, c.name) for c in connectors]
    job = _progress(job_id, total=len(names) + 1)
    errors: list[str] = []
    result: dict[str, Any] = {"sync": {}}
    for connector_id, name in names:
        _progress(job_id, message=f"sync {name}")
        try:
            cfg = db.session.get(ConnectorConfig, connector_id)
            result["sync"][name] = run_sync(cfg, job_id=job_id).rows
        except Exception as exc:  # one broken source must not stop the others
            db.session.rollback()
            errors.append(f"sync {name}: {exc}")
        _progress(job_id, step=True)
    _progress(job_id, message="analysis")
    try:
        result["analysis"] = asdict(run_analysis())
    except Exception as exc:
        db.session.rollback()
        errors.append(f"analysis: {type(exc).__name__}: {exc}")
    job = _progress(job_id, step=True, message="done" if not errors else "finished with errors")
    job.state = "failed" if errors else "done"
    job.error = "\n".join(errors) or None
    job.result = result
    job.finished_at = utcnow()
    db.session.commit()
    return job


def _progress(
    job_id: int, *, total: int | None = None, step: bool = False, message: str | None = None
) -> JobRun:
    job = db.session.get(JobRun, job_id)
    if total is not None:
        job.progress_total = total
    if step:
        job.progress_done += 1
    if message is not None:
        job.message = message[:500]
    db.session.commit()
    return job

"""The nightly schedule: a "sync" job per enabled connector, then an "analyze" job.

It runs once per night even with several workers: the worker that first inserts the
``nightly:<date>`` settings row (a primary key, so a second insert fails) owns that
night, and enqueues the night's jobs in the same transaction. The analysis job waits
until the night's syncs are finished (``cases/jobs.py``); any worker runs them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import ConnectorConfig, JobRun, Setting, business_tz, utcnow
from .registry import recurring
from .rows import enqueue

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
    return WorkerSettings.from_dict(Setting.read(SETTINGS_KEY))


def save_worker_settings(values: dict[str, Any], user_id: int | None) -> WorkerSettings:
    """Validate and store; the caller commits."""
    settings = WorkerSettings.from_dict(values)
    Setting.write(SETTINGS_KEY, asdict(settings), user_id)
    return settings


def night_due(now: datetime, settings: WorkerSettings) -> date | None:
    """The local date whose nightly run is due at ``now``, if any."""
    if not settings.nightly_enabled:
        return None
    local = now.astimezone(business_tz())
    return local.date() if local.hour >= settings.nightly_hour else None


def claim_night(night: date, now: datetime | None = None) -> JobRun | None:
    """Enqueue the night's jobs if this worker is the first to claim it; its "nightly" row."""
    now = now or utcnow()
    key = NIGHT_KEY + night.isoformat()
    if db.session.get(Setting, key) is not None:
        db.session.rollback()
        return None
    connectors = db.session.scalars(
        select(ConnectorConfig.id)
        .where(ConnectorConfig.enabled.is_(True))
        .order_by(ConnectorConfig.id)
    ).all()
    syncs = [enqueue("sync", {"connector_id": cid, "full": False}).id for cid in connectors]
    analysis = enqueue("analyze", {"after": syncs}).id
    job = JobRun(
        kind="nightly",
        state="done",
        params={"night": night.isoformat()},
        message="done",
        result={"sync_jobs": syncs, "analysis_job": analysis},
        started_at=now,
        finished_at=now,
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


@recurring("nightly schedule", every=30.0)
def nightly(now: datetime) -> None:
    night = night_due(now, worker_settings())
    db.session.rollback()
    if night is not None:
        claim_night(night, now)

"""The worker's heartbeat: its ticker writes the time into a settings row every 15 s.

``GET /healthz`` reads it: a stale heartbeat means no worker is running its recurring
tasks (and so, most likely, no jobs and no sending either).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Setting, utcnow
from .registry import recurring

KEY = "worker:heartbeat"
EVERY = 15.0


@recurring("heartbeat", every=EVERY)
def beat(now: datetime) -> None:
    row = db.session.get(Setting, KEY)
    if row is None:
        row = Setting(key=KEY)
        db.session.add(row)
    row.value = {"at": now.isoformat()}
    row.updated_at = now
    try:
        db.session.commit()
    except IntegrityError:  # another worker wrote the first beat at the same moment
        db.session.rollback()


def last_beat() -> datetime | None:
    """When a worker last beat (None: never)."""
    return db.session.scalar(select(Setting.updated_at).where(Setting.key == KEY))


def age_seconds(now: datetime | None = None) -> float | None:
    last = last_beat()
    return None if last is None else ((now or utcnow()) - last).total_seconds()

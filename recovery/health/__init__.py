"""``GET /healthz`` for load balancers and monitoring: no login, JSON, no personal data.

It checks that the database answers, that its schema is at the migrations' head and
that a worker's heartbeat is fresh (``jobs/heartbeat.py``). All good: 200 and
``"status": "ok"``; anything wrong: 503, ``"status": "failing"`` and which check failed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..extensions import db
from ..jobs import heartbeat

bp = Blueprint("health", __name__)

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


def _database() -> dict[str, Any]:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}


def _migrations() -> dict[str, Any]:
    head = sorted(migration_heads())
    try:
        current = sorted(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    except Exception:
        db.session.rollback()
        return {"ok": False, "current": [], "head": head}
    return {"ok": current == head, "current": current, "head": head}


def _worker() -> dict[str, Any]:
    limit = float(current_app.config.get("HEALTH_HEARTBEAT_MAX_AGE", 120))
    try:
        age = heartbeat.age_seconds()
    except Exception:
        db.session.rollback()
        age = None
    return {
        "ok": age is not None and age <= limit,
        "heartbeat_age_seconds": None if age is None else round(age, 1),
        "max_age_seconds": limit,
    }


@bp.get("/healthz")
def healthz():
    checks = {"database": _database()}
    if checks["database"]["ok"]:
        checks["migrations"] = _migrations()
        checks["worker"] = _worker()
    ok = all(check["ok"] for check in checks.values()) and len(checks) == 3
    db.session.rollback()
    response = jsonify(status="ok" if ok else "failing", checks=checks)
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response

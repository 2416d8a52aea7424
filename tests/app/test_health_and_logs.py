"""``GET /healthz`` and the JSON log lines per request and per job (issue 13 item 13)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from flask_migrate import stamp, upgrade
from sqlalchemy import text

from recovery.jobs import heartbeat
from recovery.jobs.worker import Ticker
from recovery.logs import JsonFormatter
from recovery.models import Setting, utcnow
from tests.conftest import MIGRATIONS


def _stamp_head(db) -> None:
    stamp(directory=MIGRATIONS, revision="heads")
    db.session.remove()


def _forget_stamp(db) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def test_healthz_is_ok_without_login_when_all_is_well(client, db):
    _stamp_head(db)
    try:
        Ticker("w1", echo=lambda _line: None).run(once=True)  # the worker's first beat
        response = client.get("/healthz")
    finally:
        _forget_stamp(db)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "migrations", "worker"}
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"]
    assert 0 <= body["checks"]["worker"]["heartbeat_age_seconds"] < 60
    assert response.headers["Cache-Control"] == "no-store"
    assert "@" not in response.get_data(as_text=True)  # nothing about people


def test_healthz_fails_without_a_worker_heartbeat(client, db):
    _stamp_head(db)
    try:
        first = client.get("/healthz")
        heartbeat.beat(utcnow() - timedelta(minutes=5))  # a worker that stopped
        stale = client.get("/healthz")
    finally:
        _forget_stamp(db)
    for response in (first, stale):
        assert response.status_code == 503
        body = response.get_json()
        assert body["status"] == "failing" and body["checks"]["worker"]["ok"] is False
        assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
    assert stale.get_json()["checks"]["worker"]["heartbeat_age_seconds"] >= 300


def test_healthz_fails_when_migrations_are_behind(client, db):
    heartbeat.beat(utcnow())
    assert client.get("/healthz").get_json()["checks"]["migrations"]["ok"] is False  # none
    stamp(directory=MIGRATIONS, revision="d7a4c1e9b256")  # one before the head
    db.session.remove()
    try:
        response = client.get("/healthz")
    finally:
        _forget_stamp(db)
    assert response.status_code == 503
    check = response.get_json()["checks"]["migrations"]
    assert check["ok"] is False and check["current"] == ["d7a4c1e9b256"]


def test_healthz_on_a_database_built_by_the_migrations(migration_db):
    from recovery.extensions import db

    upgrade(directory=MIGRATIONS)
    heartbeat.beat(utcnow())
    from flask import current_app

    response = current_app.test_client().get("/healthz")
    db.session.remove()
    assert response.status_code == 200, response.get_json()


def test_heartbeat_is_one_row_rewritten(db):
    heartbeat.beat(utcnow() - timedelta(seconds=30))
    heartbeat.beat(utcnow())
    rows = Setting.query.filter(Setting.key.like("worker:heartbeat%")).all()
    assert len(rows) == 1 and heartbeat.age_seconds() < 5


def _lines(caplog, logger: str) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == logger]


def test_each_request_is_one_json_line_with_its_request_id(client, db, caplog):
    caplog.set_level(logging.INFO, logger="recovery.requests")
    given = client.get("/login?next=/case/1&q=K%C3%B6hler", headers={"X-Request-ID": "abc-123"})
    made = client.get("/no/such/page")
    crafted = client.get("/login", headers={"X-Request-ID": "x\u00e4<script>" * 30})
    assert given.headers["X-Request-ID"] == "abc-123"
    assert len(made.headers["X-Request-ID"]) == 32
    assert crafted.headers["X-Request-ID"] != "x\u00e4<script>" * 30
    lines = _lines(caplog, "recovery.requests")
    assert len(lines) == 3
    first, second, third = lines
    assert {k: first[k] for k in ("type", "method", "path", "status", "request_id")} == {
        "type": "request",
        "method": "GET",
        "path": "/login",  # without the query string: a search may name a person
        "status": 200,
        "request_id": "abc-123",
    }
    assert isinstance(first["ms"], float) and first["ms"] >= 0
    assert second["status"] == 302 and second["request_id"] == made.headers["X-Request-ID"]
    assert third["request_id"] == crafted.headers["X-Request-ID"]


def test_each_job_is_one_json_line(db, run_jobs, caplog):
    from recovery.jobs import enqueue

    caplog.set_level(logging.INFO, logger="recovery.jobs.worker")
    job = enqueue("mailjet events", {"post": 999})  # a post that is not there: done, empty
    db.session.commit()
    assert run_jobs() == 1
    [line] = [x for x in _lines(caplog, "recovery.jobs.worker") if x.get("type") == "job"]
    assert {k: line[k] for k in ("kind", "id", "state")} == {
        "kind": "mailjet events",
        "id": job.id,
        "state": "done",
    }
    assert line["ms"] >= 0 and line["level"] == "info"

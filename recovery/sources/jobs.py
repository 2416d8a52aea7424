"""Sync jobs outside the request (S2): a JobRun row and a detached process that runs it.

"Sync now" adds a ``JobRun(kind="sync", state="queued")`` and, in the same
transaction, reserves the connector's sync lease for it (recovery/sync.py) – the
database refuses a second reservation while one is held, so two clicks, two browser
tabs or two web servers never start two syncs of one connector. Then it starts
``flask recovery run-job <id>`` in a new session with the app's own interpreter, so
the job outlives the request and the web worker. The job claims its row (queued →
running), takes the lease over from its reservation and writes its progress into
the row in each batch's transaction. Tests run jobs inline (``SYNC_JOBS="inline"``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from wawi_connectors import Connector, ConnectorError

from ..extensions import db
from ..models import ConnectorConfig, JobRun, SyncRun, utcnow
from ..sync import (
    SyncFailed,
    build_connector,
    release_lease,
    run_sync,
    secret_values,
    take_lease,
)
from . import SourceError
from .secrets import redact

KIND = "sync"
# A queued job that has not started within this time gives its reservation up.
RESERVATION = timedelta(minutes=5)
ACTIVE = ("queued", "running")
_ERROR_COUNT = re.compile(r": (\d+) errors?\b")


class SyncRunning(SourceError):
    """A sync of this connector is queued or running."""


def reservation(job_id: int) -> str:
    return f"job:{job_id}"


def start_sync(
    cfg: ConnectorConfig, *, full: bool, user_id: int | None, file: dict[str, Any] | None = None
) -> JobRun:
    """Queue a sync of ``cfg`` (with ``file``: import that uploaded file) and start it."""
    params: dict[str, Any] = {"connector_id": cfg.id, "full": full}
    if file:
        params.update(file)
    job = JobRun(kind=KIND, state="queued", params=params, created_by_id=user_id, message="queued")
    db.session.add(job)
    db.session.flush()
    if not take_lease(cfg.id, reservation(job.id), lease=RESERVATION):
        db.session.rollback()
        raise SyncRunning("A sync of this connector is already running.")
    db.session.commit()
    launch(job.id)
    return job


def launch(job_id: int) -> None:
    """Run the job here (tests) or in a detached ``flask recovery run-job`` process."""
    mode = current_app.config.get("SYNC_JOBS") or ("inline" if current_app.testing else "process")
    if mode == "inline":
        run_job(job_id)
        return
    root = Path(current_app.root_path).parent
    log_path = Path(current_app.instance_path) / "jobs.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        # the child must see the same database and key as this app, however it was configured
        "DATABASE_URL": str(current_app.config["SQLALCHEMY_DATABASE_URI"]),
        "SECRET_KEY": str(current_app.config["SECRET_KEY"]),
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "recovery", "run-job", str(job_id)]
    try:
        with log_path.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                command,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    except OSError as exc:
        _give_up(job_id, f"the job process could not be started: {exc.strerror}")
        raise SourceError("The sync could not be started; see the log.") from None
    # Reap the child when it ends (no zombie); if this worker goes first, init does it.
    threading.Thread(target=process.wait, daemon=True).start()


def _give_up(job_id: int, reason: str) -> None:
    job = db.session.get(JobRun, job_id)
    job.state, job.error, job.finished_at = "failed", reason, utcnow()
    cfg = db.session.get(ConnectorConfig, job.params["connector_id"])
    if cfg is not None and cfg.sync_owner == reservation(job_id):
        cfg.sync_owner = cfg.sync_lease_until = None
    db.session.commit()


def run_job(job_id: int) -> JobRun:
    """Run a queued sync job to its end; the row tells how it went (never raises for that)."""
    claimed = db.session.execute(
        update(JobRun)
        .where(JobRun.id == job_id, JobRun.kind == KIND, JobRun.state == "queued")
        .values(state="running", started_at=utcnow(), message="starting")
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    job = db.session.get(JobRun, job_id)
    if job is None or not claimed:
        raise SourceError(f"Job {job_id} is not a queued sync job.")
    params = job.params
    cfg = db.session.get(ConnectorConfig, params["connector_id"])
    if cfg is None:
        return _done(job, "failed", error="The connector no longer exists.")
    file = {"path": params["path"], "mapping": params["mapping"]} if params.get("path") else None
    try:
        connector = build_connector(cfg, file)
    except ConnectorError as exc:
        db.session.rollback()
        release_lease(cfg.id, reservation(job_id))  # no run started: free the connector
        return _done(job, "failed", error=redact(str(exc), secret_values(cfg)))
    progress = _Progress(job, connector if cfg.kind == "csv" else None)
    try:
        result = run_sync(
            cfg,
            full=bool(params.get("full")),
            progress=progress,
            job_id=job.id,
            connector=connector,
            reserved=reservation(job.id),
        )
    except SyncFailed as exc:
        errors = [{"row": e.row, "column": e.column, "reason": e.reason} for e in exc.errors]
        found = _ERROR_COUNT.search(str(exc))
        job = db.session.get(JobRun, job_id)
        return _done(
            job,
            "failed",
            error=str(exc),
            result={"errors": errors, "error_total": int(found[1]) if found else len(errors)},
        )
    except Exception as exc:
        current_app.logger.exception("sync job %s failed", job_id)
        db.session.rollback()
        job = db.session.get(JobRun, job_id)
        message = f"{type(exc).__name__}: {exc}"
        return _done(job, "failed", error=redact(message, secret_values(cfg)))
    job = db.session.get(JobRun, job_id)
    if file:  # the imported file is the connector's file from now on
        cfg = db.session.get(ConnectorConfig, cfg.id)
        cfg.settings = {**(cfg.settings or {}), **file}
    return _done(job, "done", result={"rows": result.rows, "run_id": result.run.id})


class _Progress:
    """Writes rows so far into the job row, inside the batch's own transaction."""

    def __init__(self, job: JobRun, csv: Connector | None):
        self.job_id = job.id
        self.csv = csv
        self.rows: dict[str, int] = {}

    def __call__(self, stream: str, rows: int) -> None:
        self.rows[stream] = rows
        job = db.session.get(JobRun, self.job_id)
        if job.progress_total is None and self.csv is not None:
            check = self.csv.check()  # CsvFileConnector: scanned already, so cheap
            job.progress_total = check.customers + check.orders
        job.progress_done = sum(self.rows.values())
        job.message = ", ".join(f"{name}: {count}" for name, count in self.rows.items())
        job.result = {"rows": dict(self.rows)}


def _done(
    job: JobRun, state: str, error: str | None = None, result: dict[str, Any] | None = None
) -> JobRun:
    job.state = state
    job.error = error
    job.result = {**(job.result or {}), **(result or {})}
    job.message = "done" if state == "done" else "failed"
    job.finished_at = utcnow()
    db.session.commit()
    return job


def of_connector(connector_id: int):
    """A query of the sync jobs of one connector."""
    return select(JobRun).where(
        JobRun.kind == KIND, JobRun.params["connector_id"].as_integer() == connector_id
    )


def latest_job(connector_id: int) -> JobRun | None:
    return db.session.scalar(of_connector(connector_id).order_by(JobRun.id.desc()).limit(1))


def active_job(connector_id: int) -> JobRun | None:
    return db.session.scalar(
        of_connector(connector_id)
        .where(JobRun.state.in_(ACTIVE))
        .order_by(JobRun.id.desc())
        .limit(1)
    )


def run_of(job: JobRun | None) -> SyncRun | None:
    """The sync run (log row) of a job."""
    if job is None:
        return None
    return db.session.scalar(
        select(SyncRun).where(SyncRun.job_id == job.id).order_by(SyncRun.id.desc()).limit(1)
    )


def file_in_use(cfg: ConnectorConfig) -> tuple[str | None, datetime | None]:
    """The file a file connector reads now: the name it was uploaded with, and when."""
    path = (cfg.settings or {}).get("path")
    if not path:
        return None, None
    imports = db.session.scalars(
        of_connector(cfg.id).where(JobRun.state == "done").order_by(JobRun.id.desc()).limit(20)
    )
    imported = next((j for j in imports if j.params.get("path") == path), None)
    if imported is None:  # set by the command line or the demo
        return Path(path).name, None
    return imported.params.get("file_name"), imported.finished_at

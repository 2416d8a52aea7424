"""Sync and file-import jobs: the "sync" job kind (S2).

"Sync now" enqueues a ``JobRun(kind="sync")`` and, in the same transaction, reserves
the connector's sync lease for it (``sync.py``) – the database refuses a second
reservation while one is held, so two clicks, two browser tabs or two web servers
never queue two syncs of one connector. The worker (``flask recovery worker``) runs
the job: it takes the lease over from its reservation and writes its progress into
the job row in each batch's transaction, which also renews the job's lease.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from wawi_connectors import N_, Connector, ConnectorError, Message

from ..extensions import db
from ..jobs import ACTIVE, JobContext, JobFailed, enqueue, job_kind, recurring
from ..models import ConnectorConfig, JobRun, SyncRun, utcnow
from . import SourceError
from .secrets import redact
from .sync import (
    LEASE,
    SyncFailed,
    build_connector,
    release_lease,
    run_sync,
    secret_values,
    take_lease,
)
from .texts import row_errors_stored, stored

KIND = "sync"
# A queued job that has not started within this time gives its reservation up.
RESERVATION = timedelta(minutes=5)
_ERROR_COUNT = re.compile(r": (\d+) errors?\b")
# An uploaded file that was never imported is deleted after this time.
UPLOAD_KEPT = timedelta(days=1)
_UPLOAD_TOKEN = re.compile(r"[0-9a-f]{32}")


class SyncRunning(SourceError):
    """A sync of this connector is queued or running."""


def reservation(job_id: int) -> str:
    return f"job:{job_id}"


def start_sync(
    cfg: ConnectorConfig, *, full: bool, user_id: int | None, file: dict[str, Any] | None = None
) -> JobRun:
    """Queue a sync of ``cfg`` (with ``file``: import that uploaded file); commits."""
    params: dict[str, Any] = {"connector_id": cfg.id, "full": full}
    if file:
        params.update(file)
    job = enqueue(KIND, params, user_id)
    if not take_lease(cfg.id, reservation(job.id), lease=RESERVATION):
        db.session.rollback()
        raise SyncRunning("A sync of this connector is already running.")
    db.session.commit()
    return job


# The connector's lease and the job's last as long: both are renewed in each batch.
@job_kind(KIND, lease=LEASE)
def sync_job(ctx: JobContext) -> dict[str, Any]:
    """Run a sync (or the import of a file) to its end."""
    params = ctx.params
    cfg = db.session.get(ConnectorConfig, params["connector_id"])
    if cfg is None:
        gone = Message(N_("The connector no longer exists."))
        raise JobFailed(str(gone), {"error_message": stored(gone)})
    file = None
    if params.get("path"):
        file = {k: params.get(k) for k in ("path", "mapping", "file_name")}
        file["cp1252_rows"] = bool(params.get("cp1252_rows"))
    try:
        connector = build_connector(cfg, file)
    except ConnectorError as exc:
        db.session.rollback()
        release_lease(cfg.id, reservation(ctx.job_id))  # no run started: free the connector
        db.session.commit()
        secrets = secret_values(cfg)
        raise JobFailed(
            redact(str(exc), secrets), {"error_message": stored(exc, secrets)}
        ) from None
    progress = _Progress(ctx, connector if cfg.kind == "csv" else None)
    try:
        result = run_sync(
            cfg,
            full=bool(params.get("full")),
            progress=progress,
            job_id=ctx.job_id,
            connector=connector,
            reserved=reservation(ctx.job_id),
        )
    except SyncFailed as exc:
        errors = exc.detail.get("errors") or row_errors_stored(exc.errors)
        found = _ERROR_COUNT.search(str(exc))
        total = int(found[1]) if found else len(errors)
        result = {"errors": errors, "error_total": total}
        if exc.detail.get("message"):
            result["error_message"] = exc.detail["message"]
        raise JobFailed(str(exc), result) from None
    except Exception as exc:
        current_app.logger.exception("sync job %s failed", ctx.job_id)
        db.session.rollback()
        text = redact(f"{type(exc).__name__}: {exc}", secret_values(cfg))
        unexpected = Message(N_("Unexpected error (see the server log): %(error)s"), error=text)
        raise JobFailed(text, {"error_message": stored(unexpected)}) from None
    if file:  # the imported file is the connector's file from now on
        cfg = db.session.get(ConnectorConfig, cfg.id)
        cfg.settings = {**(cfg.settings or {}), **file}
    if result.notes:  # values that did not fit: shortened, or their record left out
        return {"rows": result.rows, "run_id": result.run.id, "notes": result.notes}
    return {"rows": result.rows, "run_id": result.run.id}


class _Progress:
    """Writes rows so far into the job row, inside the batch's own transaction."""

    def __init__(self, ctx: JobContext, csv: Connector | None):
        self.ctx = ctx
        self.csv = csv
        self.total: int | None = None
        self.rows: dict[str, int] = {}

    def __call__(self, stream: str, rows: int) -> None:
        self.rows[stream] = rows
        if self.total is None and self.csv is not None:
            check = self.csv.check()  # CsvFileConnector: scanned already, so cheap
            self.total = check.customers + check.orders
        self.ctx.progress(
            ", ".join(f"{name}: {count}" for name, count in self.rows.items()),
            done=sum(self.rows.values()),
            total=self.total,
            result={"rows": dict(self.rows)},
        )


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


@recurring("unused uploads", every=3600)
def delete_unused_uploads(now: datetime | None = None) -> list[str]:
    """Delete uploads older than ``UPLOAD_KEPT`` that were never imported; return their
    tokens. A file stays while a connector reads it, an import of it is queued or
    running, or an import of it finished (the connector's history points to it)."""
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    if not folder.is_dir():
        return []
    cutoff = (now or utcnow()).timestamp() - UPLOAD_KEPT.total_seconds()
    notes = {
        note.stem: note
        for note in folder.glob("*.json")
        if _UPLOAD_TOKEN.fullmatch(note.stem) and note.stat().st_mtime < cutoff
    }
    if not notes:
        return []
    in_use = {
        Path(path).name.partition(".")[0]
        for settings in db.session.scalars(select(ConnectorConfig.settings))
        if (path := (settings or {}).get("path"))
    }
    jobs = db.session.scalars(
        select(JobRun).where(JobRun.kind == KIND, JobRun.state.in_((*ACTIVE, "done")))
    )
    in_use.update(job.params.get("upload") for job in jobs if job.params.get("upload"))
    deleted = []
    for token in sorted(notes):
        if token in in_use:
            continue
        for path in folder.glob(f"{token}.*"):
            path.unlink(missing_ok=True)
        deleted.append(token)
    if deleted:
        current_app.logger.info("deleted %s unused uploads", len(deleted))
    db.session.rollback()  # read only: end the transaction
    return deleted

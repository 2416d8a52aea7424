"""Runs a connector and upserts its records (PRODUCT.md D3, D4).

Each batch a connector yields is stored together with the cursor that follows it,
in one transaction: a crash loses at most the batch in flight and the next run
resumes from the last committed cursor. Upserts by (source, external id) make a
re-read harmless (recovery/sources/store.py).

One sync per connector at a time, on any number of machines: a run first takes the
connector's *lease* with a compare-and-set UPDATE in the database, renews it in every
batch's transaction (a run whose lease another run took stops before committing)
and releases it at the end. A lease whose holder died ends when it expires, or at
once when the holder was a process on this machine that no longer exists.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from wawi_connectors import (
    N_,
    Batch,
    Connector,
    ConnectorError,
    DataError,
    ReadContext,
    RowError,
    get_connector_class,
)

from ..extensions import db
from ..models import ConnectorConfig, JobRun, SyncCursor, SyncRun, utcnow
from .secrets import decrypt, redact
from .store import Store, store_limits
from .texts import row_errors_stored, stored

LOOKBACK_DAYS = 30
LEASE = timedelta(minutes=10)
READ_AHEAD = 2  # batches read while the current one is being stored
# Called inside each batch's transaction, right before it commits: (stream, rows so far).
Progress = Callable[[str, int], None]

__all__ = [
    "LEASE",
    "LOOKBACK_DAYS",
    "Store",
    "SyncBusy",
    "SyncFailed",
    "SyncResult",
    "build_connector",
    "run_sync",
    "take_lease",
]


class SyncFailed(Exception):
    """The run stopped; the message names the cause. Committed batches stay.

    ``errors`` lists row, column and reason when the source's data was refused.
    """

    def __init__(
        self,
        message: str,
        errors: list[RowError] | None = None,
        detail: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.errors = errors or []
        # The message and the rows as connector messages (``texts.stored``), secrets masked.
        self.detail = detail or {}


class SyncBusy(SyncFailed):
    """Another sync of the same connector is running."""


@dataclass
class SyncResult:
    run: SyncRun
    rows: dict[str, int]
    # Values an API sent that did not fit (``store.Fitter``): what was shortened or left out.
    notes: list[dict[str, Any]] = field(default_factory=list)


def connector_settings(cfg: ConnectorConfig) -> dict[str, Any]:
    """The stored settings with the decrypted secrets: only for building a connector."""
    return {**(cfg.settings or {}), **decrypt(cfg.secrets)}


def build_connector(cfg: ConnectorConfig, overrides: Mapping[str, Any] | None = None) -> Connector:
    connector = get_connector_class(cfg.kind)({**connector_settings(cfg), **(overrides or {})})
    connector.limits = store_limits()  # a file is checked against them before storing
    return connector


def secret_values(cfg: ConnectorConfig) -> list[Any]:
    """Values that must never appear in a message (see ``redact``)."""
    try:
        cls = get_connector_class(cfg.kind)
        settings = connector_settings(cfg)
    except ConnectorError:
        return list((cfg.settings or {}).values())
    return [settings.get(name) for name in cls.secret_fields()]


# -- the lease ---------------------------------------------------------------------------


def lease_owner(job_id: int | None = None) -> str:
    """This process as a lease holder: host/pid/job."""
    return f"{socket.gethostname()[:80]}/{os.getpid()}/{job_id or '-'}"


def _holder_gone(owner: str) -> bool:
    """True when ``owner`` was a process on this machine that has ended."""
    host, _, rest = owner.partition("/")
    pid = rest.partition("/")[0]
    if host != socket.gethostname()[:80] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def take_lease(
    connector_id: int, owner: str, lease: timedelta = LEASE, reserved: str | None = None
) -> bool:
    """Compare-and-set the connector's lease to ``owner``; the caller commits.

    Free when nobody holds it, when it has expired, when its holder is a dead process
    of this machine, or when ``reserved`` holds it (a job taking over its reservation).
    """
    now = utcnow()
    holder = db.session.scalar(
        select(ConnectorConfig.sync_owner).where(ConnectorConfig.id == connector_id)
    )
    free = [ConnectorConfig.sync_owner.is_(None), ConnectorConfig.sync_lease_until < now]
    if reserved:
        free.append(ConnectorConfig.sync_owner == reserved)
    if holder and _holder_gone(holder):
        free.append(ConnectorConfig.sync_owner == holder)
    result = db.session.execute(
        update(ConnectorConfig)
        .where(ConnectorConfig.id == connector_id, or_(*free))
        .values(sync_owner=owner, sync_lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _renew_lease(connector_id: int, owner: str) -> bool:
    result = db.session.execute(
        update(ConnectorConfig)
        .where(ConnectorConfig.id == connector_id, ConnectorConfig.sync_owner == owner)
        .values(sync_lease_until=utcnow() + LEASE)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release_lease(connector_id: int, owner: str) -> None:
    """Give the lease up (if still ours); the caller commits."""
    db.session.execute(
        update(ConnectorConfig)
        .where(ConnectorConfig.id == connector_id, ConnectorConfig.sync_owner == owner)
        .values(sync_owner=None, sync_lease_until=None)
        .execution_options(synchronize_session=False)
    )


def _close_abandoned(connector_id: int, job_id: int | None) -> None:
    """Runs and sync jobs of this connector left 'running' by a holder that is gone.

    Queued jobs stay: they run after this one.
    """
    now = utcnow()
    reason = "interrupted: the process running it ended before it finished"
    db.session.execute(
        update(SyncRun)
        .where(SyncRun.connector_id == connector_id, SyncRun.state == "running")
        .values(state="failed", error=reason, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(JobRun)
        .where(
            JobRun.kind == "sync",
            JobRun.state == "running",
            JobRun.params["connector_id"].as_integer() == connector_id,
            JobRun.id != (job_id or 0),
        )
        .values(state="failed", error=reason, finished_at=now, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


# -- the run -----------------------------------------------------------------------------

_END = object()


def read_ahead(batches: Iterator[Batch], depth: int = READ_AHEAD) -> Iterator[Batch]:
    """The same batches, read by a thread while the caller stores the previous ones.

    Reading (parsing a file, waiting for an API) and writing (the database server's work)
    overlap; batches still arrive in order and are committed one by one. The thread
    touches only the connector, never the database. An error while reading is raised
    here; when the caller stops early, the thread stops after its current batch.
    """
    channel: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: Any) -> bool:
        while not stop.is_set():
            try:
                channel.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not hand_over(batch):
                    return
        except BaseException as exc:  # handed to the caller, raised there
            hand_over(exc)
            return
        hand_over(_END)

    reader = threading.Thread(target=produce, name="sync-read-ahead", daemon=True)
    reader.start()
    try:
        while (item := channel.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def _save_cursor(cfg: ConnectorConfig, stream: str, value: str | None) -> None:
    cursor = db.session.get(SyncCursor, (cfg.id, stream))
    if cursor is None:
        db.session.add(SyncCursor(connector_id=cfg.id, stream=stream, value=value))
    else:
        cursor.value = value


def run_sync(
    cfg: ConnectorConfig,
    full: bool = False,
    progress: Progress | None = None,
    lookback_days: int | None = None,
    job_id: int | None = None,
    *,
    connector: Connector | None = None,
    reserved: str | None = None,
) -> SyncResult:
    """Sync every stream of ``cfg``; raises SyncFailed after logging the error.

    ``connector`` is one built by the caller (e.g. with an uploaded file), closed here;
    ``reserved`` is the lease value a queued job was started with (recovery/sources/jobs.py);
    ``lookback_days`` defaults to the connector's setting.
    """
    owner = lease_owner(job_id)
    if not take_lease(cfg.id, owner, reserved=reserved):
        db.session.rollback()
        if connector is not None:
            connector.close()
        raise SyncBusy(
            f"A sync of {cfg.name} is already running (until "
            f"{cfg.sync_lease_until:%Y-%m-%d %H:%M} UTC at the latest); try again later."
            if cfg.sync_lease_until
            else f"A sync of {cfg.name} is already running; try again later."
        )
    _close_abandoned(cfg.id, job_id)
    run = SyncRun(connector_id=cfg.id, full=full, state="running", rows={}, job_id=job_id)
    db.session.add(run)
    db.session.commit()
    days = cfg.lookback_days if lookback_days is None else lookback_days
    lookback_since = utcnow() - timedelta(days=days) if days and not full else None
    rows: dict[str, int] = {}  # what is committed, per stream
    store: Store | None = None
    try:
        connector = connector or build_connector(cfg)
        store = Store(cfg.name, fit=not connector.checks_limits)
        for stream in connector.streams:
            stored = db.session.get(SyncCursor, (cfg.id, stream))
            context = ReadContext(
                cursor=None if full or stored is None else stored.value,
                lookback_since=lookback_since,
            )
            rows.setdefault(stream, 0)
            with closing(read_ahead(connector.read(stream, context))) as batches:
                for batch in batches:
                    count = rows[stream] + store.batch(batch)
                    _save_cursor(cfg, stream, batch.cursor)
                    run.rows = {**rows, stream: count}
                    if not _renew_lease(cfg.id, owner):
                        raise ConnectorError(
                            N_("stopped: another sync of this connector took over")
                        )
                    if progress:
                        progress(stream, count)
                    db.session.commit()  # the batch and its cursor, together
                    rows[stream] = count
    except ConnectorError as exc:
        _fail(cfg, run, rows, owner, exc)
    except Exception as exc:
        _fail(cfg, run, rows, owner, exc)
        raise
    finally:
        if connector is not None:
            connector.close()
    fitter = store.fitter
    notes = None
    if fitter.notes:
        notes = "\n".join(
            [
                f"{fitter.shortened} values shortened, {fitter.refused} records not stored "
                "(too long or too large for the database)",
                *(note["reason"] for note in fitter.notes),
            ]
        )
    _finish(cfg, run, rows, owner, "done", notes)
    return SyncResult(run, rows, fitter.notes)


def _fail(
    cfg: ConnectorConfig, run: SyncRun, rows: dict[str, int], owner: str, exc: Exception
) -> None:
    """Roll the batch in flight back, log the error; raise SyncFailed for source errors."""
    db.session.rollback()
    message = str(exc) if isinstance(exc, ConnectorError) else f"{type(exc).__name__}: {exc}"
    message = redact(message, secret_values(cfg))
    errors = exc.errors if isinstance(exc, DataError) else []
    logged = "\n".join([message, *(str(e) for e in errors)])
    secrets = secret_values(cfg)
    detail = {"message": stored(exc, secrets), "errors": row_errors_stored(errors, secrets)}
    _finish(cfg, run, rows, owner, "failed", logged, detail if detail["message"] else None)
    if isinstance(exc, ConnectorError):
        raise SyncFailed(message, errors, detail) from exc


def _finish(
    cfg: ConnectorConfig,
    run: SyncRun,
    rows: dict[str, int],
    owner: str,
    state: str,
    error: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    run = db.session.merge(run)
    run.rows = dict(rows)
    run.state = state
    run.error = error
    run.error_detail = detail
    run.finished_at = utcnow()
    release_lease(cfg.id, owner)
    db.session.commit()

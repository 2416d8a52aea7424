"""Settings, job runs and connector state: what the admin and the worker keep."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Double, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .user import User


class Setting(db.Model):
    """Run-time settings an admin changes (analysis rules, …) as JSON per key."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    @classmethod
    def read(cls, key: str) -> dict[str, Any]:
        """The stored value of ``key`` ({} when nothing is stored)."""
        row = db.session.get(cls, key)
        return row.value if row else {}

    @classmethod
    def write(cls, key: str, value: Any, user_id: int | None) -> None:
        """Store ``value`` under ``key``; the caller commits."""
        row = db.session.get(cls, key)
        if row is None:
            row = cls(key=key)
            db.session.add(row)
        row.value = value
        row.updated_by_id = user_id


class SendPace(db.Model):
    """The account-wide rate limit of one sending source (``mailjet``, ``sms:twilio`` …)
    shared by every worker of the database (recovery/messaging/pace.py)."""

    __tablename__ = "send_pace"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The next free slot ("theoretical arrival time"): seconds since the epoch on the
    # database's clock, so workers on several machines agree.
    tat: Mapped[float] = mapped_column(Double)


class JobState(StrEnum):
    """A job row's state (recovery/jobs/rows.py); sync runs use the same words."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# A job's kind, its state and the steps it reports as its message, in the reader's words.
JOB_LABELS = {
    "sync": _l("Sync or import"),
    "analyze": _l("Analysis"),
    "backtest": _l("Backtest"),
    "nightly": _l("Nightly run"),
    "mailjet events": _l("Mailjet events"),
    "reconnect first": _l("ReConnect: first messages"),
    "queueing messages": _l("queueing messages"),
    JobState.QUEUED: _l("queued"),
    "starting": _l("starting"),
    JobState.RUNNING: _l("running"),
    "waiting for the syncs": _l("waiting for the syncs"),
    "reading orders": _l("reading orders"),
    "scoring customers": _l("scoring customers"),
    "writing cases": _l("writing cases"),
    "writing reminder predictions": _l("writing reminder predictions"),
    "scoring and comparing": _l("scoring and comparing"),
    "storing events": _l("storing events"),
    "processing events": _l("processing events"),
    JobState.DONE: _l("done"),
    JobState.FAILED: _l("failed"),
}


class JobRun(db.Model):
    """The truth about a background job: state, progress and error (recovery/jobs/).

    A worker claims a due ``queued`` job, or a ``running`` one whose lease ran out
    (its worker died), by setting ``lease_owner``/``lease_until``; it renews the lease
    while it works and finishes only while the lease is still its own.
    """

    __tablename__ = "job_run"
    __table_args__ = (
        Index("ix_job_run_kind_started", "kind", "started_at"),
        Index("ix_job_run_state_run_after", "state", "run_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # sync, analyze, backtest, nightly
    state: Mapped[str] = mapped_column(String(10), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    message: Mapped[str | None] = mapped_column(String(500))
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run_after: Mapped[datetime | None] = mapped_column(UTCDateTime)  # not before; None: now
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(default=3, server_default="3")


class ConnectorConfig(db.Model):
    """A configured source; ``name`` is the ``source`` stored on customers and orders."""

    __tablename__ = "connector"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    # The name as the admin typed it; ``name`` is the key derived from it.
    label: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    # Secret settings as one Fernet token (recovery/sources/secrets.py), never in ``settings``.
    secrets: Mapped[str | None] = mapped_column(Text)
    # D3: sources without a reliable change date re-read the orders of these last days.
    lookback_days: Mapped[int] = mapped_column(default=30, server_default="30")
    # D6: links into the source system, with {id}/{number} placeholders.
    customer_url: Mapped[str | None] = mapped_column(String(500))
    order_url: Mapped[str | None] = mapped_column(String(500))
    product_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The sync lease (recovery/sources/sync.py): one sync per connector at a time, on any machine.
    sync_owner: Mapped[str | None] = mapped_column(String(120))
    sync_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    cursors: Mapped[list[SyncCursor]] = relationship(
        back_populates="connector", cascade="all, delete-orphan"
    )

    @property
    def title(self) -> str:
        """What pages call the source: the admin's own name for it, else its key."""
        return self.label or self.name


class SyncCursor(db.Model):
    """Saved in the same transaction as the data it covers."""

    __tablename__ = "sync_cursor"

    connector_id: Mapped[int] = mapped_column(
        ForeignKey("connector.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(30), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    connector: Mapped[ConnectorConfig] = relationship(back_populates="cursors")


class SyncRun(db.Model):
    """The sync log: one row per run with rows per stream and the error."""

    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_connector_started", "connector_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("connector.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id", ondelete="SET NULL"))
    full: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(10), default="running")
    rows: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    # The error as connector messages, to say in the reader's language:
    # {"message": Message JSON, "errors": [{row, column, reason, message}]}
    error_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connector: Mapped[ConnectorConfig] = relationship()


class SavedMapping(db.Model):
    """A corrected CSV column mapping, reused for the next file with the same header."""

    __tablename__ = "saved_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), unique=True)
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

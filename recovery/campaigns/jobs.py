"""ReConnect's background work (run by ``flask recovery worker``): the "reconnect first"
job that queues the first messages of a group or of all groups, the recurring decision
on the follow-ups and reorder reminders that are due, and the recurring credit of
reconnecting and reordering orders; the serial messages (G4): the job that queues one,
and the start of the scheduled ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..extensions import db
from ..jobs import JobContext, job_kind, recurring
from ..models import User, utcnow
from . import (
    results_tally,
    sendtime,  # noqa: F401  (registers ReConnect's send-time check)
    serial,
    serial_queue,
    tally,  # noqa: F401  (the recurring count)
)
from .attribution import attribute
from .first import Scope, queue_first
from .followups import FollowupResult, decide_followups
from .reminder_send import attribute_reminders  # also registers the reminder's check
from .reminders import ReminderResult, decide_reminders


@job_kind("reconnect first", lease=timedelta(minutes=10))
def first_messages_job(ctx: JobContext) -> dict[str, Any]:
    """Queue the first messages of ``groups`` (None: all), for ``company_id`` if set.

    Each chunk commits its contacts with its messages: a job abandoned half-way and run
    again by another worker queues only what is left.
    """
    groups = ctx.params.get("groups")
    scope = Scope(
        group_ids=tuple(groups) if groups is not None else None,
        company_id=ctx.params.get("company_id"),
    )
    user = db.session.get(User, ctx.user_id) if ctx.user_id else None

    def progress(done: int) -> None:
        ctx.progress("queueing messages", done=done)
        db.session.commit()

    result = queue_first(scope, user, utcnow(), progress=progress)
    results_tally.changed()
    db.session.commit()
    return {
        "queued": result.queued,
        "messages": len(result.messages),
        "skipped": result.skipped,
        "errors": result.errors,
    }


@recurring("reconnect follow-ups", every=60.0)
def followups_task(now: datetime | None = None) -> FollowupResult:
    return decide_followups(now)


@recurring("reconnect attribution", every=300.0)
def attribution_task(now: datetime | None = None) -> int:
    credited = attribute(now)
    if credited:
        results_tally.changed()
        db.session.commit()
    return credited


@job_kind(serial.JOB_KIND, lease=timedelta(minutes=10))
def serial_message_job(ctx: JobContext) -> dict[str, Any]:
    """Queue a serial message's messages; a job run again goes on where the last stopped."""

    def progress(done: int) -> None:
        ctx.progress("queueing messages", done=done)
        db.session.commit()

    serial_id = ctx.params["serial_message_id"]
    result = serial_queue.queue_messages(serial_id, utcnow(), progress=progress)
    return {"queued": result.queued, "skipped": result.skipped}


@recurring("serial messages due", every=60.0)
def serial_due_task(now: datetime | None = None) -> int:
    return serial.start_due(now or utcnow())


@recurring("reorder reminders", every=60.0)
def reminders_task(now: datetime | None = None) -> ReminderResult:
    result = decide_reminders(now)
    if result.sent or result.held or result.skipped:
        results_tally.changed()
        db.session.commit()
    return result


@recurring("reorder attribution", every=300.0)
def reminder_attribution_task(now: datetime | None = None) -> int:
    credited = attribute_reminders(now)
    if credited:
        results_tally.changed()
        db.session.commit()
    return credited

"""The case domain's background work: the "analyze" and "backtest" job kinds and the
recurring note of due reminders (run by ``flask recovery worker``)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..jobs import JobContext, JobFailed, Wait, job_kind, recurring, unfinished
from ..models import Case, CaseEvent, CaseStatus, utcnow

# Steps are reported as they start; the lease covers the longest one.
STEP_LEASE = timedelta(minutes=30)


@job_kind("analyze", lease=STEP_LEASE, max_attempts=2)
def analyse_job(ctx: JobContext) -> dict[str, Any]:
    """Score all customers and open, update or close cases; after the jobs in ``after``."""
    waiting = unfinished(ctx.params.get("after") or [])
    if waiting:
        raise Wait(60, "waiting for the syncs")
    from ..audience.members import evaluate
    from .analysis import as_of_end, run_analysis  # pandas loads on first use, not at start-up

    as_of = ctx.params.get("as_of")
    day = as_of_end(date.fromisoformat(as_of)) if as_of else None
    result = asdict(run_analysis(day, progress=ctx.step))
    # The groups' rules read the cases and orders just written (issue 15, G1).
    ctx.step("evaluating customer groups")
    evaluated = evaluate()
    result["groups"] = {
        "evaluated": len(evaluated),
        "added": sum(e.added for e in evaluated),
        "removed": sum(e.removed for e in evaluated),
    }
    return result


@job_kind("backtest", lease=STEP_LEASE, max_attempts=2)
def backtest_job(ctx: JobContext) -> dict[str, Any]:
    """The rules as of a past date against what happened afterwards; the result as JSON."""
    from ..analysis.backtesting import BacktestRefused
    from .analysis import as_of_end, run_backtest

    as_of = as_of_end(date.fromisoformat(ctx.params["as_of"]))
    try:
        result = run_backtest(as_of, ctx.params.get("horizon"), progress=ctx.step)
    except BacktestRefused as exc:  # the data do not reach the horizon, …
        raise JobFailed(str(exc), {"refused": exc.reason, **exc.facts}) from None
    except ValueError as exc:
        raise JobFailed(str(exc)) from None
    return result.to_dict()


@recurring("due reminders", every=30.0)
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
        .where(Case.status == CaseStatus.REMINDER, Case.remind_at <= now, ~noted)
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

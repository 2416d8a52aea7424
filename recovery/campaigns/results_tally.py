"""The results page (R5) read from a tally the worker keeps, instead of counted per view.

Counting the results of three months – every overdue episode of the period, the
contacts, and the comparison group's orders inside each group's attribution window,
over a million customers with their do-not-contact records – takes about a second of
database time and seconds under load; eight people opening the page at once would wait
for each other. So the worker counts (``reconnect results``) with exactly the
statements of :func:`results.count`, grouped by company, and stores the figures per
group × company (``reconnect_result``), per company × month
(``reconnect_result_month``) and the reorder reminders' per group × company
(``reminder_result``, :func:`reminder_lists.count`); the page reads those rows and
adds up the companies the user sees. The figures are the live ones as of the count –
``tests/campaigns/test_results_tally.py`` compares both on SQLite and PostgreSQL.

When it counts again (the page says "as of <time>"):

* every ``EVERY`` (5 minutes), and at the next run of the task (15 s) after
  :func:`changed` – called by the attributions of ReConnect and of the reorder
  reminder (a credit), the first-message job, the contact of one customer from a tab,
  the send switch, and the reorder reminders' decisions;
* when the business day changed since the last count (the period moved on a day);
* after an analysis finished (episodes opened or closed).

A page counts live when there is no tally or it is older than ``STALE`` (no worker
running, e.g. in development), so it never shows old figures for long.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..jobs import recurring
from ..models import (
    JobRun,
    ReconnectResult,
    ReconnectResultMonth,
    ReminderResult,
    Setting,
    utcnow,
)
from . import reminder_lists
from .lists import results_since
from .results import Cohort, Counted, MonthRow, ResultRow, Results, assemble, count

KEY = "reconnect.results"
EVERY = timedelta(minutes=5)
STALE = timedelta(minutes=30)


def refresh(now: datetime | None = None) -> None:
    """Count every company's results now and replace the tally; the caller commits."""
    now = now or utcnow()
    counted = count(None, now)
    db.session.execute(delete(ReconnectResult))
    db.session.execute(delete(ReconnectResultMonth))
    db.session.execute(delete(ReminderResult))
    db.session.add_all(
        ReconnectResult(
            product_group_id=group_id,
            company_id=company,
            overdue=row.overdue,
            contacted=row.contacted.customers,
            reconnected=row.contacted.reordered,
            revenue=row.contacted.revenue,
            not_contacted=row.not_contacted.customers,
            not_reordered=row.not_contacted.reordered,
            not_revenue=row.not_contacted.revenue,
            switched_off=row.switched_off,
            unreachable=row.unreachable,
        )
        for (group_id, company), row in counted.groups.items()
    )
    db.session.add_all(
        ReconnectResultMonth(
            company_id=company,
            month=month,
            contacted=row.contacted,
            reconnected=row.reconnected,
            revenue=row.revenue,
        )
        for (company, month), row in counted.months.items()
    )
    db.session.add_all(
        ReminderResult(
            product_group_id=group_id,
            company_id=company,
            sent=sent,
            reordered=reordered,
            revenue=revenue,
            held=held,
            skipped=skipped,
        )
        for (group_id, company), (sent, reordered, revenue, held, skipped) in (
            reminder_lists.count(None, now).items()
        )
    )
    Setting.write(KEY, {"counted_at": now.isoformat(), "since": counted.since.isoformat()}, None)
    db.session.flush()


def changed() -> None:
    """History changed (a contact, a credit, the send switch): the worker counts again
    at its next run; the page shows the last count until then. The caller commits."""
    state = dict(Setting.read(KEY))
    if state.get("counted_at") and not state.get("changed"):
        Setting.write(KEY, {**state, "changed": True}, None)


def _stored() -> Counted | None:
    state = Setting.read(KEY)
    if not state.get("counted_at"):
        return None
    counted = Counted(
        datetime.fromisoformat(state["since"]), datetime.fromisoformat(state["counted_at"])
    )
    r = ReconnectResult
    columns = (r.product_group_id, r.company_id, r.overdue, r.contacted, r.reconnected)
    more = (r.revenue, r.not_contacted, r.not_reordered, r.not_revenue, r.switched_off)
    for group_id, company, overdue, contacted, won, revenue, *rest in db.session.execute(
        select(*columns, *more, r.unreachable)
    ):
        others, reordered, other_revenue, switched_off, unreachable = rest
        counted.groups[group_id, company] = ResultRow(
            group_id,
            "",
            overdue=overdue,
            contacted=Cohort(contacted, won, _money(revenue)),
            not_contacted=Cohort(others, reordered, _money(other_revenue)),
            switched_off=switched_off,
            unreachable=unreachable,
        )
    m = ReconnectResultMonth
    for company, month, contacted, won, revenue in db.session.execute(
        select(m.company_id, m.month, m.contacted, m.reconnected, m.revenue)
    ):
        counted.months[company, month] = MonthRow(month, contacted, won, _money(revenue))
    return counted


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _stored_reminders() -> reminder_lists.Counts:
    r = ReminderResult
    stmt = select(r.product_group_id, r.company_id, r.sent, r.reordered, r.revenue, r.held)
    return {
        (group_id, company): (sent, reordered, _money(revenue), held, skipped)
        for group_id, company, sent, reordered, revenue, held, skipped in db.session.execute(
            stmt.add_columns(r.skipped)
        )
    }


def current(
    company_id: int | None, now: datetime
) -> tuple[Results, reminder_lists.ReminderSummary]:
    """The results and the reorder reminders for the user's company: from the tally when
    it is recent (the results with their ``counted_at``), else counted now."""
    state = Setting.read(KEY)
    at = state.get("counted_at")
    if at and now - datetime.fromisoformat(at) <= STALE:
        stored = _stored()
        if stored is not None:
            data = assemble(stored, company_id)
            data.counted_at = stored.now
            reminders = (stored.since, _stored_reminders())
            return data, reminder_lists.summary(company_id, now, reminders)
    data = assemble(count(company_id, now), company_id)
    return data, reminder_lists.summary(company_id, now)


def _analysed_since(at: datetime) -> bool:
    return bool(
        db.session.scalar(
            select(func.count())
            .select_from(JobRun)
            .where(JobRun.kind == "analyze", JobRun.finished_at > at)
        )
    )


def due(now: datetime) -> bool:
    """Whether the worker should count again now (see the module's docstring)."""
    state = Setting.read(KEY)
    if not state.get("counted_at"):
        return True
    at = datetime.fromisoformat(state["counted_at"])
    return (
        bool(state.get("changed"))
        or now - at >= EVERY
        or results_since(now) != datetime.fromisoformat(state["since"])
        or _analysed_since(at)
    )


@recurring("reconnect results", every=15.0)
def results_task(now: datetime | None = None) -> bool:
    now = now or utcnow()
    if not due(now):
        return False
    refresh(now)
    try:
        db.session.commit()
    except IntegrityError:  # another worker counted at the same moment
        db.session.rollback()
    return True

"""The counts of the overview (R1) and of the confirm step (R3), per product group and
company, counted by the worker and read by the pages.

Counting 200 000 open overdue pairs with their reachability (customer, company,
do-not-contact records, the episode's contact, the cap) takes 0.6–0.7 s of database
time; eight people opening the overview at once would wait seconds. The worker counts
instead (``reconnect counts``: every minute, and at once after an analysis), the
contact actions and the send switch count their groups again in their own transaction,
and a page reads ``reconnect_tally`` – 30 groups × companies. A page counts live when
the tally is older than ``STALE`` (no worker running), so it never shows old numbers
for long.

The counts are those of ``lists.Overdue`` and ``first.Scope`` – the same statements –
grouped by company; ``tests/campaigns/test_tally.py`` compares them to the live counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, literal, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..jobs import recurring
from ..models import (
    Case,
    JobRun,
    ReconnectContact,
    ReconnectExclusion,
    ReconnectTally,
    Setting,
    utcnow,
)
from .overdue import Overdue

KEY = "reconnect.tally"
# Counted again by the worker after this long; a page counts live after STALE.
EVERY = timedelta(seconds=60)
STALE = timedelta(minutes=5)
COUNTS = ("overdue", "fresh", "reachable", "due")


@dataclass
class GroupCounts:
    overdue: int = 0
    fresh: int = 0  # not contacted in this episode
    reachable: int = 0  # fresh, reachable by the company's channels, cap free
    due: int = 0  # reachable and the send switch on: who the first message would reach

    def add(self, other: GroupCounts) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def live(
    now: datetime, company_id: int | None = None, group_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], GroupCounts]:
    """Count now: per (group, company; 0 for none) of the open overdue cases."""
    query = Overdue(now, company_id)
    keys = (Case.product_group_id, func.coalesce(Case.company_id, literal(0)))
    contacted = ReconnectContact.id.is_not(None)
    switched_off = ReconnectExclusion.customer_id.is_not(None)

    def grouped(flag, stmt):
        stmt = stmt.group_by(*keys, flag)
        if group_ids is not None:
            stmt = stmt.where(Case.product_group_id.in_(list(group_ids)))
        return db.session.execute(stmt).tuples()

    found: dict[tuple[int, int], GroupCounts] = {}
    # One pass with the episode's contact outer-joined (unique per case): all / fresh.
    stmt = query.select(*keys, contacted, func.count()).outerjoin(
        ReconnectContact, ReconnectContact.case_id == Case.id
    )
    for group_id, company, is_contacted, n in grouped(contacted, stmt):
        counts = found.setdefault((group_id, company), GroupCounts())
        counts.overdue += n
        if not is_contacted:
            counts.fresh += n
    # The reachable ones with the send switch outer-joined (unique per customer × group).
    stmt = (
        query.select(*keys, switched_off, func.count())
        .outerjoin(
            ReconnectExclusion,
            (ReconnectExclusion.customer_id == Case.customer_id)
            & (ReconnectExclusion.product_group_id == Case.product_group_id),
        )
        .where(query.fresh(), query.reachable())
    )
    for group_id, company, is_off, n in grouped(switched_off, stmt):
        counts = found.setdefault((group_id, company), GroupCounts())
        counts.reachable += n
        if not is_off:
            counts.due += n
    return found


def refresh(now: datetime | None = None, group_ids: Iterable[int] | None = None) -> None:
    """Count again (every group, or ``group_ids``) and replace their rows; the caller
    commits. Counting every group also notes when (``Setting`` ``reconnect.tally``)."""
    now = now or utcnow()
    group_ids = None if group_ids is None else sorted(set(group_ids))
    counted = live(now, group_ids=group_ids)
    stmt = delete(ReconnectTally)
    if group_ids is not None:
        stmt = stmt.where(ReconnectTally.product_group_id.in_(group_ids))
    db.session.execute(stmt)
    db.session.add_all(
        ReconnectTally(
            product_group_id=group_id,
            company_id=company,
            counted_at=now,
            **{name: getattr(counts, name) for name in COUNTS},
        )
        for (group_id, company), counts in counted.items()
    )
    if group_ids is None:
        Setting.write(KEY, {"counted_at": now.isoformat()}, None)
    db.session.flush()


def recount(group_ids: Iterable[int], now: datetime | None = None) -> None:
    """After a change by hand (a contact, the send switch): count these groups again in
    the change's transaction, when the worker keeps a tally."""
    if counted_at() is not None:
        refresh(now, group_ids)


def invalidate() -> None:
    """The pages count live until the worker counts again (e.g. the cap changed)."""
    Setting.write(KEY, {}, None)


def counted_at() -> datetime | None:
    value = Setting.read(KEY).get("counted_at")
    return datetime.fromisoformat(value) if value else None


def per_group(
    now: datetime, company_id: int | None, group_ids: Iterable[int] | None = None
) -> dict[int, GroupCounts]:
    """The counts per group for the user's company (None: all companies): from the
    tally when it is recent, else counted now."""
    at = counted_at()
    if at is not None and now - at <= STALE:
        stmt = select(ReconnectTally)
        if company_id is not None:
            stmt = stmt.where(ReconnectTally.company_id == company_id)
        if group_ids is not None:
            stmt = stmt.where(ReconnectTally.product_group_id.in_(list(group_ids)))
        rows = (
            ((r.product_group_id, r.company_id), GroupCounts(*(getattr(r, n) for n in COUNTS)))
            for r in db.session.scalars(stmt)
        )
    else:
        rows = live(now, company_id, group_ids).items()
    found: dict[int, GroupCounts] = {}
    for (group_id, _company), counts in rows:
        found.setdefault(group_id, GroupCounts()).add(counts)
    return found


def _analysed_since(at: datetime) -> bool:
    return bool(
        db.session.scalar(
            select(func.count())
            .select_from(JobRun)
            .where(JobRun.kind == "analyze", JobRun.finished_at > at)
        )
    )


@recurring("reconnect counts", every=15.0)
def count_task(now: datetime | None = None) -> bool:
    """Count again when the tally is a minute old or an analysis finished since."""
    now = now or utcnow()
    at = counted_at()
    if at is not None and now - at < EVERY and not _analysed_since(at):
        return False
    refresh(now)
    try:
        db.session.commit()
    except IntegrityError:  # another worker counted at the same moment
        db.session.rollback()
    return True

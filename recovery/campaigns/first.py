"""The first ReConnect message, started by hand (R3): per customer, per group or for all
groups; counted before anything is queued, then queued once per overdue episode.

Who gets one: an open overdue case of a switched-on group that ReConnect has not
contacted, whose send switch is on, whose customer is reachable by the company's
channel preference and had no marketing message within the cap. The same rules are
checked again, customer by customer, when the messages are queued: the count on the
confirm page may be minutes old. The insert of the case's ``reconnect_contact`` row is
the conditional write: a second click, a second user or a restarted job finds it and
queues nothing. The messages wait for the next send window (``windows.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, delete, func, select, update

from ..extensions import db
from ..messaging import outbox
from ..messaging.cap import MarketingCap
from ..models import (
    Case,
    CaseEvent,
    CaseStatus,
    ReconnectContact,
    ReconnectSettings,
    User,
)
from ..models.message import Channel, ChannelPreference, GroupMessageTexts, MessagePurpose
from . import tally
from .lists import group_names
from .overdue import Overdue, excluded
from .settings import available_channels, insert_ignoring
from .windows import SendWindows

CHUNK = 200


@dataclass(frozen=True)
class Scope:
    """Whom a contact action is for: one customer, some groups, or every group (None);
    ``company_id`` is the user's company restriction."""

    group_ids: tuple[int, ...] | None = None
    customer_id: int | None = None
    company_id: int | None = None

    def select(self, now: datetime, *columns) -> Select:
        """``columns`` of the cases whose first message is due: not contacted in this
        episode, switch on, reachable, in a switched-on group, in the scope."""
        query = Overdue(now, self.company_id)
        stmt = query.select(*columns).where(
            query.fresh(),
            ~excluded(),
            query.reachable(),
            Case.product_group_id.in_(
                select(ReconnectSettings.product_group_id).where(ReconnectSettings.enabled)
            ),
        )
        if self.group_ids is not None:
            stmt = stmt.where(Case.product_group_id.in_(self.group_ids))
        if self.customer_id is not None:
            stmt = stmt.where(Case.customer_id == self.customer_id)
        return stmt


@dataclass
class GroupPlan:
    group_id: int
    name: str
    count: int
    # The group has neither a first email template nor a first SMS text.
    without_texts: bool


@dataclass
class Plan:
    groups: list[GroupPlan]

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups if not g.without_texts)


def plan(scope: Scope, now: datetime) -> Plan:
    """How many first messages the action would queue, per group (the confirm step): a
    group or all of them from the tally (``tally.py``), one customer counted now."""
    if scope.customer_id is None:
        enabled = db.session.scalars(
            select(ReconnectSettings.product_group_id).where(ReconnectSettings.enabled)
        ).all()
        wanted = set(enabled) if scope.group_ids is None else set(enabled) & set(scope.group_ids)
        per_group = tally.per_group(now, scope.company_id, wanted)
        counts = [(gid, c.due) for gid, c in per_group.items() if c.due]
    else:
        counts = db.session.execute(
            scope.select(now, Case.product_group_id, func.count()).group_by(Case.product_group_id)
        ).all()
    ids = [gid for gid, _n in counts]
    names = group_names(ids)
    texts = _texts(ids)
    groups = [GroupPlan(gid, names[gid], n, not _available(texts.get(gid))) for gid, n in counts]
    return Plan(sorted(groups, key=lambda g: (-g.count, g.name)))


def _texts(group_ids: Iterable[int]) -> dict[int, GroupMessageTexts]:
    rows = db.session.scalars(
        select(GroupMessageTexts).where(GroupMessageTexts.product_group_id.in_(list(group_ids)))
    ).all()
    return {t.product_group_id: t for t in rows}


def _available(texts: GroupMessageTexts | None) -> list[str]:
    """The channels the group has a first message for."""
    if texts is None:
        return []
    return available_channels(texts.first_email_template_id, texts.first_sms_text)


@dataclass
class FirstResult:
    queued: int = 0  # customers × groups contacted
    messages: list[int] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def note(self, error: str) -> None:
        """Keep a few distinct reasons why a message could not be built."""
        if len(self.errors) < 20 and error not in self.errors:
            self.errors.append(error)


def queue_first(
    scope: Scope,
    user: User | None,
    now: datetime,
    progress: Callable[[int], object] | None = None,
) -> FirstResult:
    """Queue the first message of every case in ``scope``; commits every few hundred
    cases, so a job that dies half-way and runs again queues the rest only."""
    result = FirstResult()
    texts: dict[int, GroupMessageTexts] = {}
    cap = MarketingCap.load()
    send_at = SendWindows.load().next_open(now)
    after, touched = 0, set()
    while True:
        cases = db.session.scalars(
            scope.select(now, Case).where(Case.id > after).order_by(Case.id).limit(CHUNK)
        ).all()
        if not cases:
            if result.queued:
                tally.recount(touched)
                db.session.commit()
            return result
        touched.update(c.product_group_id for c in cases)
        missing = {c.product_group_id for c in cases} - set(texts)
        texts.update(_texts(missing))
        for case in cases:
            group_texts = texts.get(case.product_group_id)
            _contact(case, group_texts, user, now, send_at, cap, result, scope.company_id)
        db.session.commit()
        after = cases[-1].id
        if progress is not None:
            progress(result.queued)


def _contact(
    case: Case,
    texts: GroupMessageTexts | None,
    user: User | None,
    now: datetime,
    send_at: datetime,
    cap: MarketingCap,
    result: FirstResult,
    restricted_to: int | None = None,
) -> None:
    """Queue one case's first message on the channels the company prefers, to go out at
    ``send_at`` (the next send window); a restricted user's messages know only what
    ``restricted_to`` (their company) knows of the customer."""
    customer = case.customer
    if cap.last_within(customer.id, now) is not None:  # an earlier case of this batch
        result.skip("cap")
        return
    ctx = outbox.customer_context(customer, restricted_to)
    company = case.company or ctx.company
    preference = company.channel_preference if company else ChannelPreference.BOTH
    channel_plan = outbox.plan_channels(customer, preference, available=_available(texts))
    if not channel_plan.channels:
        result.skip("unreachable")
        return
    contact_id = db.session.scalar(
        insert_ignoring(ReconnectContact)
        .values(
            case_id=case.id,
            customer_id=customer.id,
            product_group_id=case.product_group_id,
            company_id=case.company_id,
            first_sent_at=send_at,  # when it goes out: the delay and attribution count from here
            first_by_id=user.id if user else None,
            first_channels="",
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["case_id"])
        .returning(ReconnectContact.id)
    )
    if contact_id is None:
        result.skip("already")
        return
    sent: dict[str, int] = {}
    for channel in channel_plan.channels:
        try:
            message = _queue(channel, customer, ctx, company, texts, user, case.id)
            message.send_after = send_at
            sent[channel] = message.id
        except outbox.CannotSend as exc:
            result.note(str(exc))
    if not sent:
        db.session.execute(delete(ReconnectContact).where(ReconnectContact.id == contact_id))
        result.skip("cannot_send")
        return
    db.session.execute(
        update(ReconnectContact)
        .where(ReconnectContact.id == contact_id)
        .values(first_channels=",".join(sent))
    )
    db.session.add(
        CaseEvent(
            case_id=case.id,
            user_id=user.id if user else None,
            kind="reconnect_first",
            data={"message_ids": list(sent.values()), "channels": list(sent)},
            created_at=now,
        )
    )
    if case.status == CaseStatus.NEW:
        case.status = CaseStatus.CONTACTED
    result.queued += 1
    result.messages.extend(sent.values())


def _queue(channel, customer, ctx, company, texts, user, case_id):
    if channel == Channel.EMAIL:
        return outbox.queue_template_email(
            customer,
            ctx,
            company,
            texts.first_email_template_id,
            "reconnect_first",
            MessagePurpose.RECONNECT,
            user,
            case_id=case_id,
        )
    return outbox.queue_text_sms(
        customer,
        ctx,
        company,
        texts.first_sms_text,
        MessagePurpose.RECONNECT,
        user,
        case_id=case_id,
    )

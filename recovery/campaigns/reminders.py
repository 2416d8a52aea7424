"""The reorder reminder, decided by the worker (R6, docs/reconnect.md).

Per product group with a reminder: "N days after the order" starts from every
completed order of the group, "at the predicted time" from the analysis's
``reorder_due`` (D days before the pair would become overdue). Only while a send window
is open, so the decision is taken when the message can go out. The candidates are
decided in batches of one group, each as if alone: one statement per kind of check for
the batch, then the ``reorder_reminder`` rows (unique customer × group × starting
order) inserted in one statement that skips those decided already, the messages queued
and every outcome written, in one transaction per batch. A worker killed half-way
leaves the batches before it decided and the one it was on not written at all; started
again, it decides only what is left. A customer inside the marketing cap is *held* on
the row and decided again once the cap allows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, or_, select, text, update

from ..extensions import db
from ..messaging import consent, outbox
from ..messaging.cap import MarketingCap
from ..models import (
    Company,
    Customer,
    Message,
    Order,
    OrderLine,
    ReminderMode,
    ReorderDue,
    ReorderReminder,
    utcnow,
)
from ..models.bulk import insert_objects, insert_rows
from ..models.message import Channel, ChannelPreference, MessagePurpose
from .overdue import switched_off, with_open_order
from .reminder_settings import ReminderSettings, reminder_settings
from .windows import SendWindows

BATCH = 200
# Per group and run: the candidates' statement reads the whole window of orders up to
# the undecided ones, so a run takes a few batches (each committed on its own) rather
# than one; a run of 10 groups stays well inside a minute.
PER_RUN = 1000
# A reminder whose moment passed longer ago than this is not sent any more (switched on
# late, worker stopped): it would no longer fit the order it refers to.
LATE = timedelta(days=7)
_REAL = ("completed", "open")


@dataclass
class ReminderResult:
    sent: int = 0
    held: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def count(self, state: str, reason: str | None) -> None:
        if state == "sent":
            self.sent += 1
        elif state == "held":
            self.held += 1
        else:
            self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass(frozen=True)
class Candidate:
    customer_id: int
    product_group_id: int
    order_id: int
    company_id: int | None
    started_at: datetime  # when the starting order was placed
    due_at: datetime


def group_line(group_id: int):
    """A real line of ``group_id`` in ``Order`` (cancelled or returned lines do not count)."""
    return exists().where(
        OrderLine.order_id == Order.id,
        OrderLine.product_group_id == group_id,
        or_(OrderLine.state.is_(None), OrderLine.state.in_(_REAL)),
    )


def not_decided(customer, group_id: int, order):
    """No reminder row for (customer, group, starting order) yet: a lookup in the unique
    key per candidate. ``OFFSET 0`` keeps PostgreSQL from turning it into an anti join
    planned on the table's statistics: the table grows by thousands of rows within a
    day, and planned on an old, small estimate the join compared every candidate with
    every decided row (0.4 s per group and run in the benchmark instead of 20 ms)."""
    r = ReorderReminder
    return ~exists(
        select(r.customer_id)
        .where(r.customer_id == customer, r.product_group_id == group_id, r.order_id == order)
        .offset(0)
    )


def _without_jit() -> None:
    """PostgreSQL estimates the candidates' statements (a window of orders read by
    index, a lookup per order) high enough to JIT-compile them on every run, which
    tripled their time in the benchmark (285 instead of 95 ms); off for this
    transaction only."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))


def _after_order(s: ReminderSettings, now: datetime, limit: int) -> list[Candidate]:
    """Completed orders of the group placed N days ago (up to ``LATE`` more)."""
    due_from = now - timedelta(days=s.days_after)
    _without_jit()
    rows = db.session.execute(
        select(Order.customer_id, Order.id, Order.company_id, Order.ordered_at)
        .where(
            Order.ordered_at <= due_from,
            Order.ordered_at > due_from - LATE,
            Order.state == "completed",
            group_line(s.product_group_id),
            not_decided(Order.customer_id, s.product_group_id, Order.id),
        )
        .order_by(Order.ordered_at, Order.id)
        .limit(limit)
    )
    days = timedelta(days=s.days_after)
    return [
        Candidate(customer, s.product_group_id, order, company, at, at + days)
        for customer, order, company, at in rows
    ]


def _predicted(s: ReminderSettings, now: datetime, limit: int) -> list[Candidate]:
    """Pairs that become overdue within D days (and are not overdue yet)."""
    before = timedelta(days=s.days_before)
    d = ReorderDue
    _without_jit()
    rows = db.session.execute(
        select(d.customer_id, d.order_id, d.company_id, d.last_order_at, d.overdue_from)
        .where(
            d.product_group_id == s.product_group_id,
            d.overdue_from <= now + before,
            d.overdue_from > now + before - LATE,
            d.overdue_from > now,
            not_decided(d.customer_id, s.product_group_id, d.order_id),
        )
        .order_by(d.overdue_from, d.customer_id)
        .limit(limit)
    )
    return [
        Candidate(customer, s.product_group_id, order, company, at, overdue - before)
        for customer, order, company, at, overdue in rows
    ]


def ordered_since(
    group_id: int, starts: Iterable[tuple[int, int, datetime]], until: datetime | None = None
) -> set[tuple[int, int]]:
    """Of ``starts`` (customer, starting order, when it was placed): those whose customer
    placed a completed or open order of the group at or after it (and by ``until``, the
    moment of the decision, when given), other than the starting order. One statement."""
    starts = list(starts)
    if not starts:
        return set()
    by_customer: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    rows = db.session.execute(
        select(Order.customer_id, Order.id, Order.ordered_at).where(
            Order.customer_id.in_({customer for customer, _order, _at in starts}),
            Order.ordered_at >= min(at for _customer, _order, at in starts),
            Order.state.in_(_REAL),
            group_line(group_id),
            *_placed_by(until),
        )
    )
    for customer, order, at in rows:
        by_customer[customer].append((order, at))
    return {
        (customer, order)
        for customer, order, since in starts
        if any(other != order and at >= since for other, at in by_customer[customer])
    }


def ordered_again(
    customer_id: int, group_id: int, order_id: int, since: datetime, until: datetime | None = None
) -> bool:
    """:func:`ordered_since` for one starting order."""
    return bool(ordered_since(group_id, [(customer_id, order_id, since)], until))


def has_open_order(customer_id: int, until: datetime | None = None) -> bool:
    """An open order (placed by ``until``, the moment of the decision, when given)."""
    return bool(with_open_order({customer_id}, until))


def _placed_by(until: datetime | None) -> tuple:
    """Orders placed by the moment of a decision: the demo decides its history day by
    day over orders that were placed later."""
    return () if until is None else (Order.ordered_at <= until,)


@dataclass
class Outcome:
    """What the checks say about one candidate: the first reason not to send it, else the
    time of the cap's last message that holds it, else it goes; ``channels``: the
    channels it goes out on when it goes, ``refused``: why each other channel is not
    used, in words."""

    reason: str | None = None
    held_by: datetime | None = None
    channels: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


@dataclass
class Checked:
    """The outcomes of a batch, in the candidates' order, and what queueing needs."""

    outcomes: list[Outcome]
    customers: dict[int, Customer]
    contexts: dict[int, outbox.CustomerContext]
    companies: dict[int, Company]

    def company(self, c: Candidate) -> Company | None:
        """The company that took the starting order, else the last order's."""
        if c.company_id is not None and c.company_id in self.companies:
            return self.companies[c.company_id]
        return self.contexts[c.customer_id].company


def check(
    candidates: list[Candidate], s: ReminderSettings, cap: MarketingCap, now: datetime
) -> Checked:
    """Every check of the reminder for a batch of one group's candidates, one statement
    per kind of check, each candidate decided as if alone (a customer sent to earlier in
    the batch is inside the cap for the rest of it): ordered from the group since the
    starting order, open order, reminder off, send switch, no text, no channel
    (address, do-not-contact record, consent), the cap."""
    customer_ids = {c.customer_id for c in candidates}
    starts = [(c.customer_id, c.order_id, c.started_at) for c in candidates]
    ordered = ordered_since(s.product_group_id, starts, now)
    open_order = with_open_order(customer_ids, now)
    off = switched_off(s.product_group_id, customer_ids)
    customers = {
        c.id: c for c in db.session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))
    }
    records = consent.records(customer_ids)
    contexts = outbox.customer_contexts(customer_ids)
    company_ids = {c.company_id for c in candidates if c.company_id is not None}
    companies = {
        c.id: c for c in db.session.scalars(select(Company).where(Company.id.in_(company_ids)))
    }
    checked = Checked([], customers, contexts, companies)
    last_sent = cap.last_within_many(customer_ids, now)
    for c in candidates:
        outcome = Outcome()
        checked.outcomes.append(outcome)
        if (c.customer_id, c.order_id) in ordered:
            outcome.reason = "ordered"
        elif c.customer_id in open_order:
            outcome.reason = "open_order"
        elif not s.on:
            outcome.reason = "reminder_off"
        elif c.customer_id in off:
            outcome.reason = "switched_off"
        elif not s.channels:
            outcome.reason = "no_text"
        else:
            company = checked.company(c)
            preference = company.channel_preference if company else ChannelPreference.BOTH
            plan = outbox.plan_channels(
                customers[c.customer_id],
                preference,
                available=s.channels,
                records=records.get(c.customer_id, {}),
            )
            outcome.channels, outcome.refused = plan.channels, plan.reasons
            if not plan.channels:
                outcome.reason = "unsubscribed"
            elif (last := last_sent.get(c.customer_id)) is not None:
                outcome.held_by = last
            elif cap.on:
                last_sent[c.customer_id] = now
    return checked


def free_from(cap: MarketingCap, last: datetime) -> datetime:
    """When the cap allows the next message after one at ``last`` (the cap counts the
    last message's own moment in: free just after it)."""
    return last + timedelta(days=cap.days, seconds=1)


@dataclass
class Verdict:
    state: str
    reason: str | None = None
    held_until: datetime | None = None
    messages: dict[str, Message] = field(default_factory=dict)

    def values(self, now: datetime) -> dict:
        """The reminder's columns; after the flush that gave the messages their ids."""
        return {
            "state": self.state,
            "reason": self.reason,
            "held_until": self.held_until,
            "decided_at": now,
            "sent_at": now if self.state == "sent" else None,
            "channels": ",".join(self.messages) or None,
            "email_message_id": _id(self.messages.get(Channel.EMAIL)),
            "sms_message_id": _id(self.messages.get(Channel.SMS)),
        }


def _id(message: Message | None) -> int | None:
    return message.id if message is not None else None


class Batch:
    """One batch of one group's reminders decided in one transaction: the checks (one
    statement each), the messages of those that go (one INSERT per channel for the
    batch) and the conditional write that makes this worker the one that decides each
    reminder."""

    def __init__(self, s: ReminderSettings, cap: MarketingCap, windows: SendWindows, now):
        self.s, self.cap, self.windows, self.now = s, cap, windows, now
        self.links = outbox.UnsubscribeLinks()

    def verdict(self, c: Candidate, outcome: Outcome, checked: Checked) -> Verdict:
        """The outcome made real: held until the next send window the cap allows, or the
        messages queued (added to the session, inserted by the batch's flush)."""
        if outcome.reason:
            return Verdict("skipped", outcome.reason)
        if outcome.held_by is not None:
            allowed = free_from(self.cap, outcome.held_by)
            return Verdict("held", "cap", self.windows.next_open(max(allowed, self.now)))
        verdict = Verdict("sent")
        customer = checked.customers[c.customer_id]
        ctx, company = checked.contexts[c.customer_id], checked.company(c)
        for channel in outcome.channels:
            try:
                verdict.messages[channel] = self.queue(channel, customer, ctx, company)
            except outbox.CannotSend:
                continue
        return verdict if verdict.messages else Verdict("skipped", "cannot_send")

    def queue(self, channel, customer, ctx, company) -> Message:
        s, purpose = self.s, MessagePurpose.REMINDER
        if channel == Channel.EMAIL:
            return outbox.queue_template_email(
                customer,
                ctx,
                company,
                s.email_template_id,
                "reorder_reminder",
                purpose,
                None,
                links=self.links,
                flush=False,
            )
        return outbox.queue_text_sms(
            customer, ctx, company, s.sms_text, purpose, None, links=self.links, flush=False
        )

    def decide_new(self, candidates: list[Candidate], result: ReminderResult) -> None:
        """Candidates never decided: decided, their messages inserted, then their rows
        with the outcomes in one statement that skips those another worker inserted
        meanwhile (the unique key) – and their messages are deleted again."""
        if not candidates:
            return
        checked = check(candidates, self.s, self.cap, self.now)
        verdicts = [
            self.verdict(c, outcome, checked)
            for c, outcome in zip(candidates, checked.outcomes, strict=True)
        ]
        insert_objects([m for verdict in verdicts for m in verdict.messages.values()])
        rows = [
            {
                "customer_id": c.customer_id,
                "product_group_id": c.product_group_id,
                "order_id": c.order_id,
                "company_id": c.company_id,
                "mode": self.s.mode,
                "due_at": c.due_at,
                "created_at": self.now,
                **verdict.values(self.now),
            }
            for c, verdict in zip(candidates, verdicts, strict=True)
        ]
        key = ("customer_id", "product_group_id", "order_id")
        inserted = insert_rows(ReorderReminder.__table__, rows, key, ("customer_id", "order_id"))
        claimed = set(inserted)
        lost = [
            message.id
            for c, verdict in zip(candidates, verdicts, strict=True)
            if (c.customer_id, c.order_id) not in claimed
            for message in verdict.messages.values()
        ]
        if lost:
            db.session.execute(
                delete(Message)
                .where(Message.id.in_(lost))
                .execution_options(synchronize_session=False)
            )
        db.session.commit()
        for c, verdict in zip(candidates, verdicts, strict=True):
            if (c.customer_id, c.order_id) in claimed:
                result.count(verdict.state, verdict.reason)

    def decide_held(self, rows: list[ReorderReminder], result: ReminderResult) -> None:
        """Held reminders whose time has come, decided again; a conditional update
        (still held, still due) makes this worker the one that decides each."""
        if not rows:
            return
        started = dict(
            db.session.execute(
                select(Order.id, Order.ordered_at).where(Order.id.in_({r.order_id for r in rows}))
            )
            .tuples()
            .all()
        )
        by_id = {
            row.id: Candidate(
                row.customer_id,
                row.product_group_id,
                row.order_id,
                row.company_id,
                started[row.order_id],
                row.due_at,
            )
            for row in rows
        }
        r = ReorderReminder
        claimed_ids = set(
            db.session.scalars(
                update(r)
                .where(r.id.in_(list(by_id)), r.state == "held", r.held_until <= self.now)
                .values(decided_at=self.now)
                .returning(r.id)
                .execution_options(synchronize_session=False)
            )
        )
        claimed = {i: c for i, c in by_id.items() if i in claimed_ids}
        late = {i for i, c in claimed.items() if self.too_late(c)}
        fresh = [i for i in claimed if i not in late]
        checked = check([claimed[i] for i in fresh], self.s, self.cap, self.now)
        verdicts = {i: Verdict("skipped", "too_late") for i in late}
        for i, outcome in zip(fresh, checked.outcomes, strict=True):
            verdicts[i] = self.verdict(claimed[i], outcome, checked)
        insert_objects([m for verdict in verdicts.values() for m in verdict.messages.values()])
        if claimed:  # ORM bulk update by primary key: one executemany
            db.session.execute(
                update(ReorderReminder),
                [{"id": i, **verdicts[i].values(self.now)} for i in claimed],
            )
        db.session.commit()
        for verdict in verdicts.values():
            result.count(verdict.state, verdict.reason)

    def too_late(self, c: Candidate) -> bool:
        """Held so long that it no longer fits the order."""
        return self.now - c.due_at > LATE + timedelta(days=self.cap.days)


def _held(group_id: int, now: datetime, limit: int) -> list[ReorderReminder]:
    r = ReorderReminder
    return db.session.scalars(
        select(r)
        .where(and_(r.state == "held", r.held_until <= now, r.product_group_id == group_id))
        .order_by(r.held_until, r.id)
        .limit(limit)
    ).all()


CANDIDATES = {ReminderMode.AFTER: _after_order, ReminderMode.PREDICTED: _predicted}


def decide_reminders(
    now: datetime | None = None, limit: int = PER_RUN, batch: int = BATCH
) -> ReminderResult:
    """Decide the reminders that are due, per group with a reminder, ``limit`` per group
    and run, ``batch`` at a time; only inside a send window."""
    now = now or utcnow()
    result = ReminderResult()
    if not SendWindows.load().is_open(now):
        return result
    cap, windows = MarketingCap.load(), SendWindows.load()
    for s in reminder_settings().values():
        if not s.on:
            continue
        decide = Batch(s, cap, windows, now)
        held = _held(s.product_group_id, now, limit)
        for at in range(0, len(held), batch):
            decide.decide_held(held[at : at + batch], result)
        candidates = CANDIDATES[s.mode](s, now, limit)
        for at in range(0, len(candidates), batch):
            decide.decide_new(candidates[at : at + batch], result)
    return result

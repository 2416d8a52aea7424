"""The follow-up, decided by the worker (R3): after the group's delay, unless the
customer ordered from the group, has an open order, was switched off or cannot be
contacted any more – each decision not to send recorded with its reason.

Decided at the moment it would be sent, so nothing stale goes out. A customer inside
the marketing cap is *held*: noted once in the case history, decided again on a later
run. Every outcome is a conditional update of the contact (``followup_at`` and
``followup_skipped`` still empty), so two workers never decide one contact twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case as case_when
from sqlalchemy import exists, literal, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..messaging import consent, outbox
from ..messaging.cap import MarketingCap
from ..models import (
    Case,
    CaseEvent,
    Order,
    OrderLine,
    ReconnectContact,
    ReconnectSettings,
    utcnow,
)
from ..models.bulk import insert_objects
from ..models.message import Channel, ChannelPreference, GroupMessageTexts, MessagePurpose
from .overdue import switched_off, with_open_order
from .settings import available_channels
from .windows import SendWindows

BATCH = 200
# Order states that count as a real order (a cancelled or returned one does not).
_REAL = ("completed", "open")


@dataclass
class FollowupResult:
    sent: int = 0
    held: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def _pending(group_id: int, cutoff: datetime, free: datetime | None):
    """The group's due contacts, oldest first; held ones once the cap frees them (after
    ``free``: the start of the cap's window; None: no cap)."""
    rc = ReconnectContact
    held = rc.followup_held_last
    return (
        select(rc)
        .where(
            rc.product_group_id == group_id,
            rc.first_sent_at <= cutoff,
            rc.followup_at.is_(None),
            rc.followup_skipped.is_(None),
            rc.reconnected_at.is_(None),
            true() if free is None else or_(held.is_(None), held < free),
        )
        .order_by(rc.first_sent_at, rc.id)
    )


def _ordered_from_group(contact_ids: list[int]) -> set[int]:
    """The contacts whose customer ordered from the contact's group since the first
    message (a cancelled or returned order or line does not count)."""
    rc = ReconnectContact
    line_counts = or_(OrderLine.state.is_(None), OrderLine.state.in_(_REAL))
    ordered = exists().where(
        Order.customer_id == rc.customer_id,
        Order.ordered_at > rc.first_sent_at,
        Order.state.in_(_REAL),
        OrderLine.order_id == Order.id,
        OrderLine.product_group_id == rc.product_group_id,
        line_counts,
    )
    return set(db.session.scalars(select(rc.id).where(rc.id.in_(contact_ids), ordered)))


def _available(texts: GroupMessageTexts | None) -> list[str]:
    """The channels the group has a follow-up for."""
    if texts is None:
        return []
    return available_channels(texts.followup_email_template_id, texts.followup_sms_text)


@dataclass
class _Batch:
    """What one batch decided before anything is written: per contact id, the reason it
    is skipped (with the event's data), the cap's last message it is held by, or the
    channels it goes out on."""

    skip: dict[int, tuple[str, dict]] = field(default_factory=dict)
    hold: dict[int, datetime] = field(default_factory=dict)
    send: dict[int, list[str]] = field(default_factory=dict)


def _plan(contacts, texts, cap: MarketingCap, now: datetime) -> tuple[_Batch, dict]:
    """Every check of the batch, one statement per kind of check, in the order of the
    decision: ordered from the group, open order, case closed, send switch, no text,
    do-not-contact and consent, cap."""
    batch = _Batch()
    ids = [c.id for c in contacts]
    customer_ids = {c.customer_id for c in contacts}
    group_id = contacts[0].product_group_id
    ordered = _ordered_from_group(ids)
    open_order = with_open_order(customer_ids)
    cases = {
        case.id: case
        for case in db.session.scalars(
            select(Case)
            .where(Case.id.in_({c.case_id for c in contacts}))
            .options(joinedload(Case.customer), joinedload(Case.company))
        )
    }
    off = switched_off(group_id, customer_ids)
    records = consent.records(customer_ids)
    contexts = outbox.customer_contexts(customer_ids)
    last_sent = cap.last_within_many(customer_ids, now)
    available = _available(texts)
    for contact in contacts:
        case = cases[contact.case_id]
        if contact.id in ordered:
            batch.skip[contact.id] = ("ordered", {})
        elif contact.customer_id in open_order:
            batch.skip[contact.id] = ("open_order", {})
        elif case.closed_at is not None:
            batch.skip[contact.id] = ("closed", {})
        elif contact.customer_id in off:
            batch.skip[contact.id] = ("switched_off", {})
        elif not available:
            batch.skip[contact.id] = ("no_text", {})
        else:
            ctx = contexts[contact.customer_id]
            company = case.company or ctx.company
            preference = company.channel_preference if company else ChannelPreference.BOTH
            plan = outbox.plan_channels(
                case.customer,
                preference,
                available=available,
                records=records.get(contact.customer_id, {}),
            )
            if not plan.channels:
                batch.skip[contact.id] = ("unsubscribed", {"reasons": plan.reasons})
            elif (last := last_sent.get(contact.customer_id)) is not None:
                batch.hold[contact.id] = last
            else:
                batch.send[contact.id] = plan.channels
                # a second contact of the customer in this batch is inside the cap now
                if cap.on:
                    last_sent[contact.customer_id] = now
    return batch, {"cases": cases, "contexts": contexts}


def _claim(batch: _Batch, now: datetime) -> set[int]:
    """The one conditional update that makes this worker the one that decides each
    skipped or sent contact of the batch (``followup_at`` and ``followup_skipped`` still
    empty); the ids it decided. A worker running the same batch at once waits for the
    rows and finds them decided."""
    rc = ReconnectContact
    ids = [*batch.skip, *batch.send]
    if not ids:
        return set()
    values = {"followup_decided_at": now}
    if batch.skip:
        reasons = {i: reason for i, (reason, _data) in batch.skip.items()}
        values["followup_skipped"] = case_when(reasons, value=rc.id, else_=None)
    if batch.send:
        # the column's type for the value: naive UTC on every database (UTCDateTime)
        at = literal(now, rc.followup_at.type)
        values["followup_at"] = case_when((rc.id.in_(list(batch.send)), at), else_=None)
    claimed = db.session.execute(
        update(rc)
        .where(rc.id.in_(ids), rc.followup_at.is_(None), rc.followup_skipped.is_(None))
        .values(**values)
        .returning(rc.id)
        .execution_options(synchronize_session=False)
    )
    return set(claimed.scalars())


def _event(contact: ReconnectContact, kind: str, now: datetime, token=None, **data) -> CaseEvent:
    event = CaseEvent(
        case_id=contact.case_id, kind=kind, data=data, created_at=now, form_token=token
    )
    db.session.add(event)
    return event


def _held(contacts: list[ReconnectContact], hold: dict[int, datetime], now: datetime) -> None:
    """Inside the cap: noted once in the case history, decided again when it frees."""
    rc = ReconnectContact
    db.session.execute(  # ORM bulk update by primary key: one executemany
        update(rc), [{"id": i, "followup_held_last": last} for i, last in hold.items()]
    )
    tokens = {f"reconnect-held:{c.id}": c for c in contacts if c.id in hold}
    noted = set(
        db.session.scalars(select(CaseEvent.form_token).where(CaseEvent.form_token.in_(tokens)))
    )
    new = [(token, c) for token, c in tokens.items() if token not in noted]
    try:
        with db.session.begin_nested():
            for token, c in new:
                _event(c, "reconnect_held", now, token, last=hold[c.id].isoformat())
    except IntegrityError:  # another worker noted some at the same moment: one by one
        for token, c in new:
            try:
                with db.session.begin_nested():
                    _event(c, "reconnect_held", now, token, last=hold[c.id].isoformat())
            except IntegrityError:  # noted before
                pass


def decide_batch(contacts, texts, cap: MarketingCap, now: datetime, result) -> None:
    """Send, hold or skip the follow-ups of a batch of one group's contacts, each as if
    decided alone, in one transaction: the checks one statement each for the batch, the
    decisions one conditional update, then the messages and case events."""
    if not contacts:
        return
    batch, loaded = _plan(contacts, texts, cap, now)
    claimed = _claim(batch, now)
    if batch.hold:
        _held(contacts, batch.hold, now)
        result.held += len(batch.hold)
    links, queued = outbox.UnsubscribeLinks(), []
    for contact in contacts:
        if contact.id not in claimed:
            continue
        if contact.id in batch.skip:
            reason, data = batch.skip[contact.id]
            _event(contact, "reconnect_skipped", now, reason=reason, **data)
            result.skipped[reason] = result.skipped.get(reason, 0) + 1
            continue
        case_ = loaded["cases"][contact.case_id]
        ctx = loaded["contexts"][contact.customer_id]
        company = case_.company or ctx.company
        sent, errors, customer = {}, [], case_.customer
        for channel in batch.send[contact.id]:
            try:
                sent[channel] = _queue(channel, customer, ctx, company, texts, case_.id, links)
            except outbox.CannotSend as exc:
                errors.append(str(exc))
        if not sent:
            db.session.execute(
                update(ReconnectContact)
                .where(ReconnectContact.id == contact.id)
                .values(followup_at=None, followup_skipped="cannot_send")
                .execution_options(synchronize_session=False)
            )
            _event(contact, "reconnect_skipped", now, reason="cannot_send", errors=errors)
            result.skipped["cannot_send"] = result.skipped.get("cannot_send", 0) + 1
            continue
        queued.append((contact, sent))
    # the batch's messages: one INSERT (per channel), their ids
    insert_objects([message for _contact, sent in queued for message in sent.values()])
    for contact, sent in queued:
        ids = [message.id for message in sent.values()]
        _event(contact, "reconnect_followup", now, message_ids=ids, channels=list(sent))
        result.sent += 1
    db.session.commit()


def _queue(channel, customer, ctx, company, texts, case_id, links):
    """A follow-up message, added to the session (inserted by the batch's flush)."""
    if channel == Channel.EMAIL:
        return outbox.queue_template_email(
            customer,
            ctx,
            company,
            texts.followup_email_template_id,
            "reconnect_followup",
            MessagePurpose.FOLLOWUP,
            None,
            case_id=case_id,
            links=links,
            flush=False,
        )
    text = texts.followup_sms_text
    return outbox.queue_text_sms(
        customer,
        ctx,
        company,
        text,
        MessagePurpose.FOLLOWUP,
        None,
        case_id=case_id,
        links=links,
        flush=False,
    )


def decide_followups(
    now: datetime | None = None, limit: int = BATCH, batch: int = BATCH
) -> FollowupResult:
    """Decide the follow-ups that are due, in the switched-on groups, oldest first; only
    inside a send window; ``batch`` contacts decided at a time."""
    now = now or utcnow()
    result = FollowupResult()
    if not SendWindows.load().is_open(now):
        return result  # decided when they can go out, so nothing stale is sent
    cap = MarketingCap.load()
    groups = db.session.execute(
        select(ReconnectSettings.product_group_id, ReconnectSettings.followup_delay_days).where(
            ReconnectSettings.enabled
        )
    ).all()
    for group_id, delay in groups:
        texts = db.session.get(GroupMessageTexts, group_id)
        cutoff = now - timedelta(days=delay)
        free = cap.since(now) if cap.on else None
        contacts = db.session.scalars(_pending(group_id, cutoff, free).limit(limit)).all()
        for at in range(0, len(contacts), batch):
            decide_batch(contacts[at : at + batch], texts, cap, now, result)
    return result

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

from sqlalchemy import exists, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..messaging import outbox
from ..messaging.cap import MarketingCap
from ..models import (
    Case,
    CaseEvent,
    Order,
    OrderLine,
    ReconnectContact,
    ReconnectExclusion,
    ReconnectSettings,
    utcnow,
)
from ..models.message import Channel, ChannelPreference, GroupMessageTexts, MessagePurpose
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


def _ordered_from_group(contact: ReconnectContact) -> bool:
    line_counts = or_(OrderLine.state.is_(None), OrderLine.state.in_(_REAL))
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Order.customer_id == contact.customer_id,
                    Order.ordered_at > contact.first_sent_at,
                    Order.state.in_(_REAL),
                    OrderLine.order_id == Order.id,
                    OrderLine.product_group_id == contact.product_group_id,
                    line_counts,
                )
            )
        )
    )


def _has_open_order(customer_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(exists().where(Order.customer_id == customer_id, Order.state == "open"))
        )
    )


def _switched_off(contact: ReconnectContact) -> bool:
    return (
        db.session.get(ReconnectExclusion, (contact.customer_id, contact.product_group_id))
        is not None
    )


def _available(texts: GroupMessageTexts | None) -> list[str]:
    """The channels the group has a follow-up for."""
    if texts is None:
        return []
    return available_channels(texts.followup_email_template_id, texts.followup_sms_text)


def _claim(contact: ReconnectContact, now: datetime, skipped: str | None) -> bool:
    """The conditional update that makes this worker the one that decides."""
    values = {"followup_decided_at": now}
    if skipped:
        values["followup_skipped"] = skipped
    else:
        values["followup_at"] = now
    done = db.session.execute(
        update(ReconnectContact)
        .where(
            ReconnectContact.id == contact.id,
            ReconnectContact.followup_at.is_(None),
            ReconnectContact.followup_skipped.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1


def _event(contact: ReconnectContact, kind: str, now: datetime, token=None, **data) -> None:
    db.session.add(
        CaseEvent(case_id=contact.case_id, kind=kind, data=data, created_at=now, form_token=token)
    )


def _skip(contact: ReconnectContact, reason: str, now: datetime, result, **data) -> None:
    if _claim(contact, now, reason):
        _event(contact, "reconnect_skipped", now, reason=reason, **data)
        result.skipped[reason] = result.skipped.get(reason, 0) + 1
    db.session.commit()


def _hold(contact: ReconnectContact, last: datetime, now: datetime, result) -> None:
    """Inside the cap: noted once in the case history, decided again when it frees."""
    result.held += 1
    db.session.execute(
        update(ReconnectContact)
        .where(ReconnectContact.id == contact.id)
        .values(followup_held_last=last)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    _event(contact, "reconnect_held", now, f"reconnect-held:{contact.id}", last=last.isoformat())
    try:
        db.session.commit()
    except IntegrityError:  # noted before
        db.session.rollback()


def decide(contact: ReconnectContact, texts, cap: MarketingCap, now: datetime, result) -> None:
    """Send the follow-up of one contact, hold it, or record why it is not sent."""
    case = db.session.get(Case, contact.case_id)
    if _ordered_from_group(contact):
        return _skip(contact, "ordered", now, result)
    if _has_open_order(contact.customer_id):
        return _skip(contact, "open_order", now, result)
    if case.closed_at is not None:
        return _skip(contact, "closed", now, result)
    if _switched_off(contact):
        return _skip(contact, "switched_off", now, result)
    customer = case.customer
    ctx = outbox.customer_context(customer)
    company = case.company or ctx.company
    preference = company.channel_preference if company else ChannelPreference.BOTH
    available = _available(texts)
    if not available:
        return _skip(contact, "no_text", now, result)
    plan = outbox.plan_channels(customer, preference, available=available)
    if not plan.channels:
        return _skip(contact, "unsubscribed", now, result, reasons=plan.reasons)
    last = cap.last_within(customer.id, now)
    if last is not None:
        return _hold(contact, last, now, result)
    if not _claim(contact, now, None):
        db.session.rollback()
        return None
    sent, errors = {}, []
    for channel in plan.channels:
        try:
            sent[channel] = _queue(channel, customer, ctx, company, texts, case.id).id
        except outbox.CannotSend as exc:
            errors.append(str(exc))
    if not sent:
        db.session.rollback()
        return _skip(contact, "cannot_send", now, result, errors=errors)
    _event(contact, "reconnect_followup", now, message_ids=list(sent.values()), channels=list(sent))
    db.session.commit()
    result.sent += 1
    return None


def _queue(channel, customer, ctx, company, texts, case_id):
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
        )
    text = texts.followup_sms_text
    return outbox.queue_text_sms(
        customer, ctx, company, text, MessagePurpose.FOLLOWUP, None, case_id=case_id
    )


def decide_followups(now: datetime | None = None, limit: int = BATCH) -> FollowupResult:
    """Decide the follow-ups that are due, in the switched-on groups, oldest first; only
    inside a send window."""
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
        for contact in contacts:
            decide(contact, texts, cap, now, result)
    return result

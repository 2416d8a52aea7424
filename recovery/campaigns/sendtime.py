"""ReConnect's messages decided again when the sending loop takes them (R3, R7).

A first message waits for its send window, a held message for the cap: when it is due,
it goes only if it is still relevant – no new order from the group since it was
written, no open order, the case still open, the send switch on and the group still
switched on (consent and address are checked by the loop for every marketing message).
A message that is no longer relevant is cancelled with a ``reconnect_cancelled`` case
event naming the reason; a first message none of whose channels went leaves no contact
(no follow-up, no credit, and the case may be contacted again). A message held by the
cap waits for the send window after the cap allows; a held first message moves its
contact's ``first_sent_at`` along, so the delay and the attribution count from then.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, exists, func, or_, select

from ..extensions import db
from ..messaging.cap import Automatic, register_automatic
from ..models import (
    Case,
    CaseEvent,
    Message,
    Order,
    OrderLine,
    ReconnectContact,
    ReconnectExclusion,
    ReconnectSettings,
)
from ..models.message import MessagePurpose
from ..models.reconnect import FOLLOWUP_SKIP_LABELS
from .overdue import with_open_order
from .windows import SendWindows

_REAL = ("completed", "open")
# A message that was not sent: its state, so another channel of the contact still counts.
_GONE = ("cancelled", "failed")


def _contacts(messages: list[Message]) -> dict[int, ReconnectContact]:
    """The messages' contacts, by case id."""
    case_ids = {m.case_id for m in messages if m.case_id is not None}
    if not case_ids:
        return {}
    rows = db.session.scalars(
        select(ReconnectContact).where(ReconnectContact.case_id.in_(case_ids))
    )
    return {c.case_id: c for c in rows}


def _reasons(pairs: list[tuple[Message, ReconnectContact]]) -> dict[int, str]:
    """Why each message is no longer relevant, by message id; a few statements for the
    whole batch, whatever its size."""
    customers = {c.customer_id for _m, c in pairs}
    last_order = dict(
        (
            ((customer, group), at)
            for customer, group, at in db.session.execute(
                select(Order.customer_id, OrderLine.product_group_id, func.max(Order.ordered_at))
                .join(OrderLine, OrderLine.order_id == Order.id)
                .where(
                    Order.customer_id.in_(customers),
                    Order.state.in_(_REAL),
                    or_(OrderLine.state.is_(None), OrderLine.state.in_(_REAL)),
                )
                .group_by(Order.customer_id, OrderLine.product_group_id)
            )
        )
    )
    open_orders = with_open_order(customers)
    closed = set(
        db.session.scalars(
            select(Case.id).where(
                Case.id.in_({c.case_id for _m, c in pairs}), Case.closed_at.is_not(None)
            )
        )
    )
    switched_off = set(
        db.session.execute(
            select(ReconnectExclusion.customer_id, ReconnectExclusion.product_group_id).where(
                ReconnectExclusion.customer_id.in_(customers)
            )
        ).tuples()
    )
    enabled = set(
        db.session.scalars(
            select(ReconnectSettings.product_group_id).where(ReconnectSettings.enabled)
        )
    )
    reasons = {}
    for message, contact in pairs:
        pair = (contact.customer_id, contact.product_group_id)
        ordered_at = last_order.get(pair)
        if ordered_at is not None and ordered_at > message.created_at:
            reasons[message.id] = "ordered"
        elif contact.customer_id in open_orders:
            reasons[message.id] = "open_order"
        elif contact.case_id in closed:
            reasons[message.id] = "closed"
        elif pair in switched_off:
            reasons[message.id] = "switched_off"
        elif contact.product_group_id not in enabled:
            reasons[message.id] = "group_off"
    return reasons


def why_not(messages: list[Message], now: datetime) -> dict[int, str]:
    """Why each of ReConnect's ``messages`` is no longer sent (recorded), by id."""
    contacts = _contacts(messages)
    pairs = [(m, contacts[m.case_id]) for m in messages if m.case_id in contacts]
    if not pairs:
        return {}
    found = {}
    reasons = _reasons(pairs)
    dropped: set[int] = set()
    for message, contact in pairs:
        reason = reasons.get(message.id)
        if reason is None:
            continue
        db.session.add(
            CaseEvent(
                case_id=contact.case_id,
                kind="reconnect_cancelled",
                data={"reason": reason, "purpose": message.purpose, "channel": message.channel},
                form_token=f"reconnect-cancelled:{message.id}",
                created_at=now,
            )
        )
        found[message.id] = _(
            "ReConnect: not sent, %(reason)s", reason=FOLLOWUP_SKIP_LABELS[reason]
        )
        if message.purpose == MessagePurpose.RECONNECT and contact.id not in dropped:
            others = select(
                exists().where(
                    Message.case_id == message.case_id,
                    Message.purpose == MessagePurpose.RECONNECT,
                    Message.id.not_in([m.id for m, _c in pairs if m.id in reasons]),
                    Message.state.not_in(_GONE),
                )
            )
            if not db.session.scalar(others):
                db.session.execute(
                    delete(ReconnectContact).where(ReconnectContact.id == contact.id)
                )
                dropped.add(contact.id)
    return found


def next_send(at: datetime) -> datetime:
    return SendWindows.load().next_open(at)


def on_hold(message: Message, until: datetime) -> None:
    if message.purpose != MessagePurpose.RECONNECT:
        return
    contact = _contacts([message]).get(message.case_id)
    if contact is not None and contact.first_sent_at < until:
        contact.first_sent_at = until


register_automatic(
    (MessagePurpose.RECONNECT, MessagePurpose.FOLLOWUP),
    Automatic(why_not=why_not, next_send=next_send, on_hold=on_hold),
)

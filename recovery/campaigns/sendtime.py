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
from sqlalchemy import delete, exists, or_, select

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
from .windows import SendWindows

_REAL = ("completed", "open")
# A message that was not sent: its state, so another channel of the contact still counts.
_GONE = ("cancelled", "failed")


def _contact(message: Message) -> ReconnectContact | None:
    if message.case_id is None:
        return None
    return db.session.scalar(
        select(ReconnectContact).where(ReconnectContact.case_id == message.case_id)
    )


def _reason(message: Message, contact: ReconnectContact) -> str | None:
    group_id, customer_id = contact.product_group_id, contact.customer_id
    ordered = exists().where(
        Order.customer_id == customer_id,
        Order.ordered_at > message.created_at,
        Order.state.in_(_REAL),
        OrderLine.order_id == Order.id,
        OrderLine.product_group_id == group_id,
        or_(OrderLine.state.is_(None), OrderLine.state.in_(_REAL)),
    )
    if db.session.scalar(select(ordered)):
        return "ordered"
    if db.session.scalar(
        select(exists().where(Order.customer_id == customer_id, Order.state == "open"))
    ):
        return "open_order"
    case = db.session.get(Case, contact.case_id)
    if case is None or case.closed_at is not None:
        return "closed"
    if db.session.get(ReconnectExclusion, (customer_id, group_id)) is not None:
        return "switched_off"
    settings = db.session.get(ReconnectSettings, group_id)
    if settings is None or not settings.enabled:
        return "group_off"
    return None


def why_not(message: Message, now: datetime) -> str | None:
    """Why ReConnect's ``message`` is no longer sent (recorded), or None to send it."""
    contact = _contact(message)
    if contact is None:
        return None
    reason = _reason(message, contact)
    if reason is None:
        return None
    db.session.add(
        CaseEvent(
            case_id=contact.case_id,
            kind="reconnect_cancelled",
            data={"reason": reason, "purpose": message.purpose, "channel": message.channel},
            form_token=f"reconnect-cancelled:{message.id}",
            created_at=now,
        )
    )
    if message.purpose == MessagePurpose.RECONNECT:
        others = select(
            exists().where(
                Message.case_id == message.case_id,
                Message.purpose == MessagePurpose.RECONNECT,
                Message.id != message.id,
                Message.state.not_in(_GONE),
            )
        )
        if not db.session.scalar(others):
            db.session.execute(delete(ReconnectContact).where(ReconnectContact.id == contact.id))
    return _("ReConnect: not sent, %(reason)s", reason=FOLLOWUP_SKIP_LABELS[reason])


def next_send(at: datetime) -> datetime:
    return SendWindows.load().next_open(at)


def on_hold(message: Message, until: datetime) -> None:
    if message.purpose != MessagePurpose.RECONNECT:
        return
    contact = _contact(message)
    if contact is not None and contact.first_sent_at < until:
        contact.first_sent_at = until


register_automatic(
    (MessagePurpose.RECONNECT, MessagePurpose.FOLLOWUP),
    Automatic(why_not=why_not, next_send=next_send, on_hold=on_hold),
)

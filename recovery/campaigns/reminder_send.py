"""The reorder reminder where it goes out (R6, R7) and what it brought back.

At send time the sending loop asks whether a reminder is still relevant (no order of
the group since the starting order, no open order, the send switch on, the group's
reminder on); one that is not is cancelled, and a reminder none of whose messages is
left is recorded on its row as not sent, with the reason. Held by the cap, it waits for
the send window after the cap allows and its ``sent_at`` moves along.

Reordered (recurring ``reorder attribution``): the first real order of the group inside
the group's attribution window after the reminder went out, with its net revenue in the
group, credited once (``reordered_at IS NULL``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import exists, func, or_, select, update

from ..extensions import db
from ..messaging.cap import Automatic, register_automatic
from ..models import (
    Message,
    Order,
    OrderLine,
    ReconnectExclusion,
    ReconnectSettings,
    ReminderMode,
    ReorderReminder,
    ReorderSettings,
    utcnow,
)
from ..models.message import MessagePurpose
from ..models.reorder import REMINDER_SKIP_LABELS
from .reminders import has_open_order, ordered_again
from .windows import SendWindows

_REAL = ("completed", "open")
_GONE = ("cancelled", "failed")
MAX_WINDOW = timedelta(days=365)


def _reminders(messages: list[Message]) -> dict[int, ReorderReminder]:
    """The messages' reminders, by message id."""
    ids = [m.id for m in messages]
    rows = db.session.scalars(
        select(ReorderReminder).where(
            or_(ReorderReminder.email_message_id.in_(ids), ReorderReminder.sms_message_id.in_(ids))
        )
    )
    found = {}
    for row in rows:
        for message_id in (row.email_message_id, row.sms_message_id):
            if message_id is not None:
                found[message_id] = row
    return found


def _reason(reminder: ReorderReminder, switched_on: set[int]) -> str | None:
    started = db.session.scalar(select(Order.ordered_at).where(Order.id == reminder.order_id))
    customer, group = reminder.customer_id, reminder.product_group_id
    if ordered_again(customer, group, reminder.order_id, started):
        return "ordered"
    if has_open_order(customer):
        return "open_order"
    if db.session.get(ReconnectExclusion, (reminder.customer_id, reminder.product_group_id)):
        return "switched_off"
    if reminder.product_group_id not in switched_on:
        return "reminder_off"
    return None


def why_not(messages: list[Message], now: datetime) -> dict[int, str]:
    """Why each reminder message is no longer sent, by id; recorded on the reminder when
    none of its messages is left."""
    reminders = _reminders(messages)
    switched_on = set(
        db.session.scalars(
            select(ReorderSettings.product_group_id).where(ReorderSettings.mode != ReminderMode.OFF)
        )
    )
    found: dict[int, str] = {}
    reasons: dict[int, str | None] = {}
    for message in messages:
        reminder = reminders.get(message.id)
        if reminder is None:
            continue
        if reminder.id not in reasons:
            reasons[reminder.id] = _reason(reminder, switched_on)
        reason = reasons[reminder.id]
        if reason is None:
            continue
        found[message.id] = _(
            "Reorder reminder: not sent, %(reason)s", reason=REMINDER_SKIP_LABELS[reason]
        )
    for reminder in {r.id: r for r in reminders.values()}.values():
        reason = reasons.get(reminder.id)
        ids = [i for i in (reminder.email_message_id, reminder.sms_message_id) if i is not None]
        left = select(
            exists().where(
                Message.id.in_(ids), Message.id.not_in(list(found)), Message.state.not_in(_GONE)
            )
        )
        if reason is not None and not db.session.scalar(left):
            reminder.state, reminder.reason, reminder.decided_at = "skipped", reason, now
            reminder.sent_at = None
    return found


def next_send(at: datetime) -> datetime:
    return SendWindows.load().next_open(at)


def on_hold(message: Message, until: datetime) -> None:
    reminder = _reminders([message]).get(message.id)
    if reminder is not None and reminder.sent_at is not None and reminder.sent_at < until:
        reminder.sent_at = until


register_automatic(
    (MessagePurpose.REMINDER,), Automatic(why_not=why_not, next_send=next_send, on_hold=on_hold)
)


def _candidates(now: datetime):
    """(reminder, sent at, window days, order, ordered at, revenue in the group) for every
    reminder not credited yet and every real order of its group after it."""
    r = ReorderReminder
    window = func.coalesce(ReconnectSettings.attribution_days, 30)
    return db.session.execute(
        select(r.id, r.sent_at, window, Order.id, Order.ordered_at, func.sum(OrderLine.net_amount))
        .join(Order, Order.customer_id == r.customer_id)
        .join(
            OrderLine,
            (OrderLine.order_id == Order.id) & (OrderLine.product_group_id == r.product_group_id),
        )
        .outerjoin(ReconnectSettings, ReconnectSettings.product_group_id == r.product_group_id)
        .where(
            r.state == "sent",
            r.reordered_at.is_(None),
            r.sent_at >= now - MAX_WINDOW,
            Order.ordered_at > r.sent_at,
            Order.ordered_at <= now,
            Order.state.in_(_REAL),
            or_(OrderLine.state.is_(None), OrderLine.state.in_(_REAL)),
        )
        .group_by(r.id, r.sent_at, window, Order.id, Order.ordered_at)
    ).all()


def attribute_reminders(now: datetime | None = None) -> int:
    """Credit the first order of the group inside the window to each reminder sent."""
    now = now or utcnow()
    first: dict[int, tuple] = defaultdict(tuple)
    for reminder_id, sent_at, days, order_id, at, revenue in _candidates(now):
        if at > sent_at + timedelta(days=days):
            continue
        if not first[reminder_id] or (at, order_id) < first[reminder_id][:2]:
            first[reminder_id] = (at, order_id, Decimal(revenue or 0))
    credited = 0
    for reminder_id, (at, order_id, revenue) in first.items():
        credited += db.session.execute(
            update(ReorderReminder)
            .where(ReorderReminder.id == reminder_id, ReorderReminder.reordered_at.is_(None))
            .values(reordered_at=at, reordered_order_id=order_id, reordered_revenue=revenue)
            .execution_options(synchronize_session=False)
        ).rowcount
    db.session.commit()
    return credited

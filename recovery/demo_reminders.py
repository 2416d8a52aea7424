"""The reorder reminder in the demo (R6): switched on for some product groups, with
three months of history written by the worker's own decision.

Of the three groups with the most repeat orders, two remind a week before the group's
typical gap between two orders ("N days after the order"), the third at the predicted
time (``DAYS_BEFORE`` days before the customer becomes overdue, from the analysis just
run). The history is the recurring task run
once a day at 8:00 (a send window) over the last ``DAYS`` days, its messages stored as
sent at that moment; the cap and the reasons not to send are the task's. The reorders
are credited by ``campaigns.reminder_send``.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from .campaigns.reminder_send import attribute_reminders
from .campaigns.reminders import decide_reminders
from .extensions import db
from .models import (
    Message,
    Order,
    OrderLine,
    ReminderMode,
    ReorderReminder,
    ReorderSettings,
    business_tz,
)
from .models.message import MessagePurpose

DAYS = 91
WEEK_BEFORE, DAYS_BEFORE = 7, 7
TEMPLATE = 6100950
SMS = "Hallo {{var:vorname}}, Zeit für neues {{var:warengruppe}}? Wir sind für Sie da."


def _typical_gaps(now: datetime) -> dict[int, tuple[int, int]]:
    """Per product group, the median days between two orders of the group by the same
    customer in the last year (what a merchant would set the reminder by) and how many
    such repeat orders there were."""
    rows = db.session.execute(
        select(OrderLine.product_group_id, Order.customer_id, Order.ordered_at)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.ordered_at >= now - timedelta(days=365),
            Order.state == "completed",
            OrderLine.product_group_id.is_not(None),
        )
        .distinct()
        .order_by(OrderLine.product_group_id, Order.customer_id, Order.ordered_at)
    )
    gaps: dict[int, list[int]] = {}
    last: tuple | None = None
    for group_id, customer_id, at in rows:
        if last is not None and last[:2] == (group_id, customer_id):
            days = (at - last[2]).days
            if days > 0:
                gaps.setdefault(group_id, []).append(days)
        last = (group_id, customer_id, at)
    return {g: (sorted(d)[len(d) // 2], len(d)) for g, d in gaps.items() if len(d) >= 20}


def switch_on_reminders(now: datetime) -> list[int]:
    """The three groups with the most repeat orders: two remind a week before their
    typical gap, the third at the predicted time. Before the analysis, so that it
    stores the predictions the third one waits for."""
    existing = list(db.session.scalars(select(ReorderSettings.product_group_id)))
    if existing:
        return existing  # loaded again (``--keep``): set once
    gaps = _typical_gaps(now)
    group_ids = sorted(gaps, key=lambda g: (-gaps[g][1], g))[:3]
    for index, group_id in enumerate(group_ids):
        mode = ReminderMode.PREDICTED if index == 2 else ReminderMode.AFTER
        db.session.add(
            ReorderSettings(
                product_group_id=group_id,
                mode=mode,
                days_after=max(gaps[group_id][0] - WEEK_BEFORE, 7),
                days_before=DAYS_BEFORE,
                email_template_id=TEMPLATE + index,
                sms_text=SMS,
            )
        )
    db.session.commit()
    return group_ids


def _mark_sent(at: datetime) -> None:
    """The messages the task just queued, stored as sent at ``at``."""
    db.session.execute(
        update(Message)
        .where(Message.purpose == MessagePurpose.REMINDER, Message.state == "queued")
        .values(state="sent", created_at=at, send_after=at, sent_at=at)
    )
    db.session.commit()


def seed_reminders(now: datetime) -> dict[str, int]:
    """The reminders' history, decided by the task once a day; what was written."""
    counts = {"sent": 0, "held": 0, "skipped": 0}
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        if db.session.scalar(select(func.count(ReorderReminder.id))):
            return counts  # loaded again (``--keep``): written once
        start = now.astimezone(business_tz()).date() - timedelta(days=DAYS)
        for offset in range(DAYS + 1):
            at = datetime.combine(start + timedelta(days=offset), time(8), business_tz())
            at = at.astimezone(UTC)
            if at >= now:
                break
            result = decide_reminders(at, limit=2000)
            _mark_sent(at)
            counts["sent"] += result.sent
            counts["held"] += result.held
            counts["skipped"] += sum(result.skipped.values())
        counts["reordered"] = attribute_reminders(now)
        return counts

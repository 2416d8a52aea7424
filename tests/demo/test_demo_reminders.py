"""The demo with the reorder reminder: switched on for three groups (two "N days after
the order", one "at the predicted time"), three months of reminders decided by the
worker's own task – sent inside the cap, skipped with reasons, reorders credited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from recovery.campaigns.reminder_lists import summary
from recovery.demo_setup import load_demo
from recovery.extensions import db
from recovery.messaging.cap import MarketingCap
from recovery.models import Message, ReorderDue, ReorderReminder, ReorderSettings, utcnow


@pytest.mark.usefixtures("db")
def test_the_demo_has_three_months_of_reminders(client, login_as):
    text = load_demo(seed=42, customers=400, echo=lambda _line: None)
    now = utcnow()
    assert "Reorder reminders on for 3 product groups" in text
    modes = sorted(s.mode for s in db.session.scalars(select(ReorderSettings)))
    assert modes == ["after", "after", "predicted"]
    reminders = db.session.scalars(select(ReorderReminder)).all()
    sent = [r for r in reminders if r.state == "sent"]
    assert len(sent) >= 20
    assert {r.reason for r in reminders if r.state == "skipped"} & {"ordered", "open_order"}
    assert all(now - timedelta(days=92) <= r.sent_at < now for r in sent)
    # credited by the attribution: inside the window after the reminder, and some are
    assert any(r.reordered_at for r in sent)
    assert all(
        r.sent_at < r.reordered_at <= r.sent_at + timedelta(days=30) for r in sent if r.reordered_at
    )
    # the predicted group's customers are waiting for theirs
    assert db.session.scalars(select(ReorderDue).limit(1)).first() is not None
    # every reminder went out under the cap: no other marketing message 7 days before
    cap = timedelta(days=MarketingCap.load().days)
    messages = db.session.scalars(select(Message).where(Message.state == "sent")).all()
    by_customer: dict[int, list] = {}
    for m in messages:
        by_customer.setdefault(m.customer_id, []).append((m.sent_at, m.purpose, m.id))
    for r in sent:
        own = {r.email_message_id, r.sms_message_id}
        earlier = [
            at for at, _p, mid in by_customer[r.customer_id] if mid not in own and at <= r.sent_at
        ]
        assert all(r.sent_at - at >= cap for at in earlier), r.id
    numbers = summary(None, now)
    in_period = [r for r in sent if r.sent_at >= numbers.since]
    assert numbers.total.sent == len(in_period)
    assert numbers.total.reordered == sum(1 for r in in_period if r.reordered_at)
    login_as("sales", locale="de")
    page = client.get("/reconnect/results").get_data(as_text=True)
    assert "Nachbestell-Erinnerungen" in page

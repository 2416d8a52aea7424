"""The demo's serial messages (issue 15): one sent to the newsletter three days ago
through the real queueing, sending loop and webhook, with results from the Mailjet
events, and one draft – the serial-message pages show them."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import func, select

from recovery.campaigns import serial
from recovery.demo_setup import load_demo
from recovery.models import (
    Message,
    NewsletterSubscription,
    SerialMessage,
    WebhookEvent,
    utcnow,
)


def test_the_demo_has_a_sent_serial_message_with_results_and_a_draft(db, client, login_as):
    summary = load_demo(seed=42, customers=400, echo=lambda _line: None)
    sent, draft = db.session.scalars(select(SerialMessage).order_by(SerialMessage.id)).all()
    assert (sent.state, draft.state) == ("sent", "draft")
    assert sent.target == draft.target == "newsletter"
    results = serial.results(sent)
    line = re.search(
        r"Serial message to the newsletter: (\d+) sent, (\d+) opened, (\d+) clicked", summary
    )
    assert tuple(map(int, line.groups())) == (results.sent, results.opened, results.clicked)
    assert 0 < results.clicked < results.opened < results.sent
    # exactly the confirmed subscribers got it, once each, three days ago
    confirmed = set(
        db.session.scalars(
            select(NewsletterSubscription.customer_id).where(
                NewsletterSubscription.status == "confirmed"
            )
        )
    )
    messages = db.session.scalars(select(Message).where(Message.serial_message_id == sent.id)).all()
    assert {m.customer_id for m in messages} <= confirmed
    assert len(messages) == len({m.customer_id for m in messages}) == sent.recipients
    went = [m for m in messages if m.state == "sent"]
    assert len(went) == results.sent
    assert all(
        utcnow() - timedelta(days=4) < m.sent_at < utcnow() - timedelta(days=2) for m in went
    )
    # the links leave the newsletter, the text greets formally
    assert all("/p/unsubscribe/" in m.body for m in went)
    assert any(m.body.startswith(("Sehr geehrte", "Guten Tag")) for m in went)
    # the results come from events the webhook processed
    assert (
        db.session.scalar(
            select(func.count(WebhookEvent.id)).where(WebhookEvent.processed_at.is_(None))
        )
        == 0
    )

    login_as("admin", locale="de")
    listing = unescape(client.get("/groups/serial").get_data(as_text=True))
    assert "Frühjahrsneuheiten" in listing and "Sommerangebote" in listing
    page = unescape(client.get(f"/groups/serial/{sent.id}").get_data(as_text=True))
    assert str(results.opened) in page and str(results.clicked) in page

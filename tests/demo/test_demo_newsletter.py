"""The demo's newsletter (issue 15): the group "Newsletter-Abonnenten" with subscribers
who confirmed, wait for confirmation or unsubscribed, each with a consent proof."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from recovery.demo_setup import load_demo
from recovery.models import (
    ContactGroup,
    Customer,
    DoNotContact,
    GroupMember,
    Message,
    NewsletterSubscription,
)


def test_the_demo_has_a_newsletter_with_subscribers_in_every_state(db, client, login_as):
    summary = load_demo(seed=42, customers=400, echo=lambda _line: None)
    assert "Newsletter: 27 confirmed, 6 waiting for confirmation, 5 unsubscribed." in summary
    group = db.session.scalar(
        select(ContactGroup).where(ContactGroup.name == "Newsletter-Abonnenten")
    )
    newsletter = group.newsletter
    assert newsletter.double_opt_in and newsletter.company is not None
    subs = db.session.scalars(select(NewsletterSubscription)).all()
    by_state = {
        s: [x for x in subs if x.status == s] for s in ("confirmed", "pending", "unsubscribed")
    }
    assert {s: len(v) for s, v in by_state.items()} == {
        "confirmed": 27,
        "pending": 6,
        "unsubscribed": 5,
    }
    assert all(
        s.text_shown and "Neuheiten und Angebote" in s.text_shown and s.signup_ip for s in subs
    )
    assert all(s.confirmed_at and s.confirm_ip for s in by_state["confirmed"])
    unsubscribed = {s.customer_id for s in by_state["unsubscribed"]}
    blocked = set(
        db.session.scalars(
            select(DoNotContact.customer_id).where(DoNotContact.reason == "unsubscribed")
        )
    )
    assert unsubscribed <= blocked
    members = db.session.scalar(
        select(func.count(GroupMember.id)).where(GroupMember.group_id == group.id)
    )
    assert members == 32  # confirmed and (formerly confirmed) unsubscribed
    assert (
        db.session.scalar(select(func.count(Customer.id)).where(Customer.source == "newsletter"))
        == 3
    )
    # a pending person's confirmation mail waits in the outbox; its link confirms
    mail = db.session.scalar(select(Message).where(Message.purpose == "confirmation").limit(1))
    assert mail.state == "outbox"
    link = re.search(r"/p/newsletter/confirm/\S+", mail.body).group(0)
    assert client.post(link).status_code == 200
    db.session.expire_all()
    sub = db.session.scalar(
        select(NewsletterSubscription).where(NewsletterSubscription.customer_id == mail.customer_id)
    )
    assert sub.status == "confirmed"
    login_as("admin", locale="de")
    page = client.get(f"/admin/newsletters/{newsletter.id}/subscribers").get_data(as_text=True)
    assert "wartet auf Bestätigung" in page and "abgemeldet" in page and "203.0.113." in page

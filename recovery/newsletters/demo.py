"""The demo's newsletter: the group "Newsletter-Abonnenten" with a newsletter and
subscribers in every state, written as the sign-up form and the confirmation link would
have written them (a consent proof each); the pending ones' confirmation mails wait in
the outbox, so the demo can follow one link."""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..messaging import consent, outbox
from ..models import (
    Company,
    ContactGroup,
    Customer,
    GroupMember,
    GroupMemberChange,
    Newsletter,
    NewsletterSubscription,
)
from . import mails
from .signup import NEWSLETTER_SOURCE, consent_text

GROUP_NAME = "Newsletter-Abonnenten"
STATES = {"confirmed": 24, "pending": 6, "unsubscribed": 5}
CONTACTS = ("lena.sommer@example.net", "jonas.winter@example.org", "mia.herbst@example.com")


def seed_newsletter(now: datetime, seed: int = 42) -> dict[str, int]:
    """Create (once) the demo's newsletter group and subscribers; the count per state."""
    if db.session.scalar(select(ContactGroup.id).where(ContactGroup.name == GROUP_NAME)):
        return {}
    rnd = random.Random(seed)
    company = db.session.scalar(select(Company).order_by(Company.id).limit(1))
    group = ContactGroup(
        name=GROUP_NAME,
        description="Wer unseren Newsletter bestellt und bestätigt hat.",
        created_at=now - timedelta(days=120),
    )
    newsletter = Newsletter(
        group=group,
        company=company,
        public_key=secrets.token_urlsafe(16),
        name="Neuheiten und Angebote",
        description="Einmal im Monat: neue Produkte, Saisontipps und Angebote für Sie.",
        double_opt_in=True,
        confirm_text="Wir freuen uns, dass Sie dabei sind!",
        form_fields={"salutation": True, "first_name": True, "last_name": True},
        expire_hours=72,
    )
    db.session.add(newsletter)
    db.session.flush()
    customers = db.session.scalars(
        select(Customer).where(Customer.email.is_not(None)).order_by(Customer.id)
    ).all()
    people = rnd.sample(list(customers), min(len(customers), sum(STATES.values())))
    for address in CONTACTS:
        first, last = address.split("@")[0].split(".")
        contact = Customer(
            source=NEWSLETTER_SOURCE,
            external_id=address,
            email=address,
            first_name=first.title(),
            last_name=last.title(),
        )
        db.session.add(contact)
        people.insert(0, contact)
    db.session.flush()
    counts = dict.fromkeys(STATES, 0)
    text = consent_text(newsletter)
    states = [s for s, n in STATES.items() for _ in range(n)]
    for person, state in zip(people, ["confirmed"] * len(CONTACTS) + states, strict=False):
        _subscriber(rnd, newsletter, person, state, text, now)
        counts[state] += 1
    db.session.commit()
    return counts


def _subscriber(rnd, newsletter, person, state, text, now) -> None:
    days = rnd.uniform(0.1, 2.5) if state == "pending" else rnd.uniform(5, 110)
    signed_up = now - timedelta(days=days)
    sub = NewsletterSubscription(
        newsletter=newsletter,
        customer=person,
        status="pending",
        source="form",
        form=rnd.choice(("page", "embed", "embed", "snippet")),
        text_shown=text,
        signup_ip=f"203.0.113.{rnd.randint(1, 254)}",
        signed_up_at=signed_up,
        confirm_sent_at=signed_up,
    )
    db.session.add(sub)
    db.session.flush()
    if state == "pending":
        outbox.put_in_outbox(mails.queue_confirmation(sub))
        sub.confirm_sent_at = signed_up
        return
    confirmed = signed_up + timedelta(minutes=rnd.randint(2, 600))
    sub.status, sub.confirmed_at = "confirmed", confirmed
    sub.confirm_ip = f"198.51.100.{rnd.randint(1, 254)}"
    db.session.add(
        GroupMember(group=newsletter.group, customer=person, source="form", added_at=confirmed)
    )
    db.session.add(
        GroupMemberChange(
            group_id=newsletter.group.id,
            customer_id=person.id,
            change="added",
            source="form",
            at=confirmed,
        )
    )
    if state == "unsubscribed":
        left = confirmed + timedelta(days=rnd.uniform(1, days - 1))
        consent.block(person.id, "email", "unsubscribed", "demo: newsletter link", at=left)

"""The SQL of messaging/reach.py gives the same answer as outbox.plan_channels – the
decision every send makes – for every kind of customer and every channel preference."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import select

from recovery.extensions import db
from recovery.messaging import outbox, reach
from recovery.models import Customer, DoNotContact, Message, utcnow
from recovery.models.message import ChannelPreference

PREFERENCES = [p.value for p in ChannelPreference]
REACH = reach.Reach()


def _grid(build) -> list[Customer]:
    customers = []
    combos = itertools.product(
        (True, None, False),  # marketing consent
        ("erika@example.de", "", None),  # email
        ("0171 1234567", None),  # mobile
        (None, "unsubscribed", "hard_bounce"),  # do-not-contact on email
        (None, "manual"),  # do-not-contact on SMS
    )
    for consent, email, mobile, email_dnc, sms_dnc in combos:
        customer = build.customer(marketing_consent=consent, email=email, mobile=mobile)
        for channel, reason in (("email", email_dnc), ("sms", sms_dnc)):
            if reason:
                db.session.add(
                    DoNotContact(customer_id=customer.id, channel=channel, reason=reason)
                )
        customers.append(customer)
    db.session.commit()
    return customers


def test_sql_and_plan_channels_agree_for_every_customer_and_preference(app, db, build):
    customers = _grid(build)
    assert len(customers) == 108
    with app.test_request_context():
        for preference in PREFERENCES:
            stmt = REACH.join(select(Customer.id)).where(REACH.reachable(db.literal(preference)))
            in_sql = set(db.session.scalars(stmt))
            in_python = {c.id for c in customers if outbox.plan_channels(c, preference).channels}
            assert in_sql == in_python, preference
            # both sides find some reachable and some not: the grid tests something
            assert 0 < len(in_sql) < len(customers)


def test_no_preference_counts_as_both(app, db, build):
    customers = _grid(build)
    with app.test_request_context():
        stmt = REACH.join(select(Customer.id)).where(REACH.reachable(None))
        nothing = set(db.session.scalars(stmt))
        both = {c.id for c in customers if outbox.plan_channels(c, "both").channels}
    assert nothing == both


def test_the_cap_counts_marketing_that_went_or_will_go_out(app, db, build):
    now = utcnow()
    kinds = {
        "queued": ("queued", True, 1),
        "outbox": ("outbox", True, 2),
        "cancelled": ("cancelled", True, 1),
        "failed": ("failed", True, 1),
        "offer": ("sent", False, 1),
        "old": ("sent", True, 10),
    }
    ids = {}
    for name, (state, marketing, days_ago) in kinds.items():
        customer = build.customer()
        ids[name] = customer.id
        db.session.add(
            Message(
                customer_id=customer.id,
                purpose="queue",
                marketing=marketing,
                to_address=customer.email,
                state=state,
                created_at=now - timedelta(days=days_ago),
            )
        )
    db.session.commit()
    recent = reach.recently_contacted(now - timedelta(days=7))
    found = set(db.session.scalars(select(Customer.id).where(recent)))
    assert found == {ids["queued"], ids["outbox"]}

"""The follow-ups decided in batches (issue 14, the daily run): a batch holding every
skip reason, a hold and sends decides each contact exactly as deciding them one at a
time does, and two workers deciding the same batch at once send each follow-up once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from recovery.campaigns.first import Scope, queue_first
from recovery.campaigns.followups import decide_followups
from recovery.extensions import db as _db
from recovery.messaging.cap import CAP_KEY
from recovery.models import (
    Case,
    CaseEvent,
    Company,
    DoNotContact,
    Message,
    ReconnectContact,
    ReconnectExclusion,
    Setting,
    utcnow,
)
from tests.campaigns.helpers import decide_at_once, overdue, shop, switch_on

DAY = timedelta(days=1)
MOBILE = "+4917012345678"

pytestmark = pytest.mark.usefixtures("always_open")

# Per customer (first name): followup_skipped, follow-up sent, held, the event kinds,
# the channels of the follow-up messages.
EXPECTED = {
    "Ordered": ("ordered", False, False, ["reconnect_skipped"], []),
    "Openorder": ("open_order", False, False, ["reconnect_skipped"], []),
    "Closed": ("closed", False, False, ["reconnect_skipped"], []),
    "Switched": ("switched_off", False, False, ["reconnect_skipped"], []),
    "Unsubscribed": ("unsubscribed", False, False, ["reconnect_skipped"], []),
    "Notext": ("no_text", False, False, ["reconnect_skipped"], []),
    "Nosender": ("cannot_send", False, False, ["reconnect_skipped"], []),
    "Held": (None, False, True, ["reconnect_held"], []),
    "Anna": (None, True, False, ["reconnect_followup"], ["email"]),
    "Berta": (None, True, False, ["reconnect_followup"], ["email"]),
    "Both": (None, True, False, ["reconnect_followup"], ["email", "sms"]),
}


@pytest.fixture()
def every_outcome(app, db, build):
    """One contact per outcome, all due now + 15 days; returns that moment."""
    start = utcnow()
    garden = shop(build)
    both = shop(build, "Beides GmbH", channel_preference="both")
    nosender = shop(build, "Ohne Absender GmbH")
    seeds, tools = build.group("Saatgut"), build.group("Werkzeug")
    switch_on(seeds, sms=True)
    switch_on(tools)
    cases = {}
    for name in EXPECTED:
        company = {"Both": both, "Nosender": nosender}.get(name, garden)
        group = tools if name == "Notext" else seeds
        extra = {"mobile": MOBILE} if name == "Both" else {}
        cases[name] = overdue(build, company, group, first_name=name, **extra)
    with app.test_request_context():
        assert queue_first(Scope(), None, start).queued == len(EXPECTED)
    # what happened between the first message and the follow-up
    build.order(cases["Ordered"].customer, start + DAY, "60.00", "Saatgut")
    build.order(cases["Openorder"].customer, start + DAY, "60.00", "Werkzeug", state="open")
    db.session.get(Case, cases["Closed"].id).closed_at = start + DAY
    customer = cases["Switched"].customer_id
    db.session.add(ReconnectExclusion(customer_id=customer, product_group_id=seeds.id))
    customer = cases["Unsubscribed"].customer_id
    db.session.add(DoNotContact(customer_id=customer, channel="email", reason="unsubscribed"))
    db.session.add(
        Message(
            customer_id=cases["Held"].customer_id,
            purpose="queue",
            marketing=True,
            to_address="x@example.de",
            state="sent",
            created_at=start + 12 * DAY,
        )
    )
    db.session.get(Company, nosender.id).sender_email = None
    # the follow-up of "Notext"'s group has no text any more
    from recovery.models.message import GroupMessageTexts

    db.session.get(GroupMessageTexts, tools.id).followup_email_template_id = None
    db.session.commit()
    return start + 15 * DAY


def _outcomes() -> dict[str, tuple]:
    _db.session.expire_all()
    found = {}
    for contact in _db.session.scalars(select(ReconnectContact)):
        case = _db.session.get(Case, contact.case_id)
        events = _db.session.scalars(
            select(CaseEvent.kind)
            .where(CaseEvent.case_id == case.id, CaseEvent.kind.like("reconnect_%"))
            .where(CaseEvent.kind != "reconnect_first")
            .order_by(CaseEvent.id)
        ).all()
        channels = _db.session.scalars(
            select(Message.channel)
            .where(Message.case_id == case.id, Message.purpose == "followup")
            .order_by(Message.channel)
        ).all()
        found[case.customer.first_name] = (
            contact.followup_skipped,
            contact.followup_at is not None,
            contact.followup_held_last is not None,
            list(events),
            [str(c) for c in channels],
        )
    return found


@pytest.mark.parametrize("batch", [1, 200], ids=["one by one", "one batch"])
def test_a_batch_decides_each_contact_as_deciding_it_alone(app, every_outcome, batch):
    with app.test_request_context():
        result = decide_followups(every_outcome, batch=batch)
        again = decide_followups(every_outcome + DAY, batch=batch)
    assert _outcomes() == EXPECTED
    assert result.sent == 3 and result.held == 1
    assert result.skipped == {
        "ordered": 1,
        "open_order": 1,
        "closed": 1,
        "switched_off": 1,
        "unsubscribed": 1,
        "no_text": 1,
        "cannot_send": 1,
    }
    assert (again.sent, again.skipped) == (0, {})  # decided once; the held one still held
    event = _db.session.scalars(
        select(CaseEvent).where(CaseEvent.kind == "reconnect_followup")
    ).first()
    sent = _db.session.scalars(select(Message).where(Message.id.in_(event.data["message_ids"])))
    assert [m.purpose for m in sent] == ["followup"] * len(event.data["message_ids"])


def test_the_customer_s_follow_up_of_a_second_group_is_held_by_the_first(app, build):
    company = shop(build)
    seeds, tools = build.group("Saatgut"), build.group("Werkzeug")
    switch_on(seeds)
    switch_on(tools)
    start = utcnow()
    first = overdue(build, company, seeds, first_name="Anna")
    overdue(build, company, tools, customer=first.customer)
    with app.test_request_context():
        # the first messages of both groups (the cap switched off for a moment)
        Setting.write(CAP_KEY, {"days": 0}, None)
        assert queue_first(Scope(), None, start - 15 * DAY).queued == 2
        Setting.write(CAP_KEY, {"days": 7}, None)
        # the messages are stored with the real clock: dated back with their contacts
        for message in _db.session.scalars(select(Message)):
            message.created_at = message.sent_at = start - 15 * DAY
        _db.session.commit()
    with app.test_request_context():
        result = decide_followups(utcnow())
    # the group decided first sends; the other is held by that follow-up (created now)
    assert (result.sent, result.held) == (1, 1)
    [held] = _db.session.scalars(
        select(ReconnectContact).where(ReconnectContact.followup_held_last.is_not(None))
    )
    assert held.followup_held_last >= start


def test_two_workers_deciding_the_same_batch_at_once_send_each_follow_up_once(app, every_outcome):
    outcomes = decide_at_once(app, lambda: decide_followups(every_outcome))
    assert not [o for o in outcomes if o.startswith("crashed")], outcomes
    found = _outcomes()
    # the held one may be noted by both workers' runs, but in the history once
    assert found == EXPECTED, outcomes
    followups = _db.session.scalars(select(Message).where(Message.purpose == "followup")).all()
    assert len(followups) == 4  # Anna, Berta, Both (email and SMS)

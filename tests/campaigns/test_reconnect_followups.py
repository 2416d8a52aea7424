"""The follow-up decided by the worker (R3): after the group's delay, once; not after a
new order from the group, an open order, an unsubscribe or the switch turned off – each
reason recorded; held back by the marketing cap and sent when the cap allows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from recovery.campaigns.first import Scope, queue_first
from recovery.campaigns.followups import FollowupResult
from recovery.extensions import db
from recovery.jobs import registry
from recovery.messaging.cap import CAP_KEY
from recovery.models import (
    CaseEvent,
    DoNotContact,
    Message,
    ReconnectContact,
    ReconnectExclusion,
    ReconnectSettings,
    Setting,
    utcnow,
)
from tests.campaigns.helpers import FOLLOWUP_TEMPLATE, overdue, shop, switch_on

DAY = timedelta(days=1)

pytestmark = pytest.mark.usefixtures("always_open")


def _decide(now):
    """The recurring task as the worker runs it."""
    task = next(t for t in registry.recurring_tasks() if t.name == "reconnect follow-ups")
    return task.run(now)


@pytest.fixture()
def contacted(app, db, build):
    """One overdue customer of "Saatgut" whose first message went out just now."""
    company = shop(build)
    group = build.group("Saatgut")
    switch_on(group)
    case = overdue(build, company, group, first_name="Anna")
    with app.test_request_context():
        assert queue_first(Scope(), None, utcnow()).queued == 1
    return case


def _followups() -> list[Message]:
    return db.session.scalars(select(Message).where(Message.purpose == "followup")).all()


def _events(kind: str) -> list[CaseEvent]:
    return db.session.scalars(select(CaseEvent).where(CaseEvent.kind == kind)).all()


def test_the_follow_up_goes_after_the_delay_and_only_once(app, client, login_as, contacted):
    start = utcnow()
    with app.test_request_context():
        assert _decide(start + 13 * DAY).sent == 0
        assert _followups() == []
        assert _decide(start + 15 * DAY).sent == 1
        assert _decide(start + 16 * DAY).sent == 0
    [message] = _followups()
    assert (message.customer_id, message.template_id) == (contacted.customer_id, FOLLOWUP_TEMPLATE)
    assert message.variables["vorname"] == "Anna"
    contact = db.session.scalars(select(ReconnectContact)).one()
    assert contact.followup_at is not None and contact.followup_skipped is None
    assert [e.case_id for e in _events("reconnect_followup")] == [contacted.id]
    login_as("sales", locale="en")
    tab = client.get(f"/reconnect/group/{contacted.product_group_id}/followup")
    assert "Anna" in tab.get_data(as_text=True)
    case_page = client.get(f"/case/{contacted.id}").get_data(as_text=True)
    assert "ReConnect: follow-up queued" in case_page


def test_the_groups_delay_counts_within_the_cap(app, contacted):
    db.session.get(ReconnectSettings, contacted.product_group_id).followup_delay_days = 3
    db.session.commit()
    with app.test_request_context():
        assert _decide(utcnow() + 2 * DAY).sent == 0
        # 3 days after the first message, but the cap (7 days by default) holds it
        assert _decide(utcnow() + 4 * DAY).held == 1
        Setting.write(CAP_KEY, {"days": 2}, None)
        db.session.commit()
        assert _decide(utcnow() + 4 * DAY).sent == 1


def _order_from_group(build, case, state="completed", group="Saatgut"):
    build.order(case.customer, utcnow() + DAY, "60.00", group, state=state)


@pytest.mark.parametrize(
    ("change", "reason", "label"),
    [
        (lambda b, c: _order_from_group(b, c), "ordered", "ordered from the group"),
        (lambda b, c: _order_from_group(b, c, "open", "Werkzeug"), "open_order", "open order"),
        (
            lambda b, c: db.session.add(
                DoNotContact(customer_id=c.customer_id, channel="email", reason="unsubscribed")
            ),
            "unsubscribed",
            "cannot be contacted any more",
        ),
        (
            lambda b, c: db.session.add(
                ReconnectExclusion(customer_id=c.customer_id, product_group_id=c.product_group_id)
            ),
            "switched_off",
            "send switch off",
        ),
    ],
    ids=["new order", "open order", "unsubscribed", "switched off"],
)
def test_the_follow_up_is_not_sent_and_the_reason_is_recorded(
    app, client, login_as, build, contacted, change, reason, label
):
    change(build, contacted)
    db.session.commit()
    with app.test_request_context():
        result = _decide(utcnow() + 15 * DAY)
        assert _decide(utcnow() + 16 * DAY).skipped == {}  # decided once
    assert (result.sent, result.skipped) == (0, {reason: 1})
    assert _followups() == []
    contact = db.session.scalars(select(ReconnectContact)).one()
    assert contact.followup_skipped == reason and contact.followup_at is None
    [event] = _events("reconnect_skipped")
    assert (event.case_id, event.data["reason"]) == (contacted.id, reason)
    login_as("sales", locale="en")
    case_page = client.get(f"/case/{contacted.id}").get_data(as_text=True)
    assert "ReConnect: follow-up not sent" in case_page and label in case_page


def test_a_cancelled_order_from_the_group_does_not_stop_the_follow_up(app, build, contacted):
    _order_from_group(build, contacted, state="cancelled")
    with app.test_request_context():
        assert _decide(utcnow() + 15 * DAY).sent == 1


def test_the_cap_holds_the_follow_up_and_it_goes_when_the_cap_allows(app, build, contacted):
    start = utcnow()
    db.session.add(
        Message(
            customer_id=contacted.customer_id,
            purpose="queue",
            marketing=True,
            to_address="x@example.de",
            state="sent",
            created_at=start + 12 * DAY,
        )
    )
    db.session.commit()
    with app.test_request_context():
        assert _decide(start + 15 * DAY).held == 1
        # Not taken again while the cap holds it (it would keep other follow-ups waiting).
        assert _decide(start + 16 * DAY) == FollowupResult()
        assert _followups() == [] and len(_events("reconnect_held")) == 1
        assert _decide(start + 19 * DAY - timedelta(minutes=1)) == FollowupResult()
        assert _decide(start + 20 * DAY).sent == 1
    assert len(_followups()) == 1


def test_held_follow_ups_do_not_keep_the_group_s_others_waiting(app, build, contacted):
    from recovery.campaigns.followups import decide_followups

    start = utcnow()
    other = overdue(build, contacted.company, build.group("Saatgut"), first_name="Bernd")
    with app.test_request_context():
        queue_first(Scope(customer_id=other.customer_id), None, start + 1 * DAY)
    db.session.add(
        Message(
            customer_id=contacted.customer_id,
            purpose="queue",
            marketing=True,
            to_address="x@example.de",
            state="sent",
            created_at=start + 12 * DAY,
        )
    )
    db.session.commit()
    with app.test_request_context():
        # one contact per group and run (the worker takes 200): the oldest is held …
        assert decide_followups(start + 16 * DAY, limit=1).held == 1
        # … and the next run takes the one after it instead of the held one again
        assert decide_followups(start + 16 * DAY, limit=1).sent == 1
    assert [m.customer_id for m in _followups()] == [other.customer_id]


def test_a_switched_off_group_waits(app, contacted):
    db.session.get(ReconnectSettings, contacted.product_group_id).enabled = False
    db.session.commit()
    with app.test_request_context():
        assert _decide(utcnow() + 30 * DAY).sent == 0
    contact = db.session.scalars(select(ReconnectContact)).one()
    assert contact.followup_decided_at is None

"""One cap for all marketing, kept where messages go out (R7), and ReConnect's first
messages decided again when their send window opens (R3): the sending loop holds an
automatic message the cap forbids (noted once in the case history) and sends it when the
cap allows; a message that is no longer relevant is cancelled with its reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask import current_app
from sqlalchemy import select

from recovery.campaigns.first import Scope, queue_first
from recovery.campaigns.windows import save_windows
from recovery.extensions import db
from recovery.messaging import outbox
from recovery.messaging.sending_loop import SendingLoop
from recovery.models import (
    CaseEvent,
    DoNotContact,
    Message,
    ReconnectContact,
    ReconnectExclusion,
    ReconnectSettings,
    utcnow,
)
from tests.campaigns.helpers import FIRST_TEMPLATE, overdue, shop, switch_on
from tests.conftest import make_user, utc
from tests.fakes.mailjet import Template
from tests.messaging import messaging_fixtures
from tests.messaging.messaging_fixtures import FAST

# Saturday 5 December 2026, 22:00 in Berlin: the first message waits for Monday 8:00.
SATURDAY_NIGHT = utc(2026, 12, 5, 21, 0)
SUNDAY = utc(2026, 12, 6, 10, 0)
MONDAY_8 = utc(2026, 12, 7, 7, 0)
STANDARD = 6100001

mailjet, fake, online = messaging_fixtures.FIXTURES  # used as pytest fixtures


def _send(at):
    """The sending loop at ``at``, offline (due messages go to the outbox)."""
    with time_machine.travel(at, tick=False):
        return SendingLoop(current_app._get_current_object(), FAST, now=utcnow).run(once=True)


def _events(kind: str) -> list[CaseEvent]:
    return db.session.scalars(select(CaseEvent).where(CaseEvent.kind == kind)).all()


def _messages(purpose: str) -> list[Message]:
    db.session.expire_all()
    return db.session.scalars(
        select(Message).where(Message.purpose == purpose).order_by(Message.id)
    ).all()


@pytest.fixture()
def waiting(app, db, build):
    """An overdue customer of "Saatgut" whose first message, started on Saturday night,
    waits for Monday 8:00 (windows Mon–Sat 8, 12, 18)."""
    save_windows({"weekdays": range(6), "hours": (8, 12, 18)}, None)
    company = shop(build, standard_template_id=STANDARD)
    group = build.group("Saatgut")
    switch_on(group)
    case = overdue(build, company, group, first_name="Anna")
    build.order(case.customer, utc(2026, 6, 1), "80.00", "Saatgut", company)
    with app.test_request_context(), time_machine.travel(SATURDAY_NIGHT, tick=False):
        assert queue_first(Scope(), None, utcnow()).queued == 1
    [first] = _messages("reconnect")
    assert first.send_after == MONDAY_8
    return case


def _salesperson_email(app, case, at):
    """The salesperson's own email from the case page, sent at ``at``."""
    user = make_user("sales", name="Sven Sales")
    with app.test_request_context(), time_machine.travel(at, tick=False):
        outbox.queue_case_email(case, user, "standard")
        db.session.commit()
    _send(at)


def test_a_first_message_the_cap_forbids_is_held_once_and_sent_when_the_cap_allows(
    app, client, login_as, waiting
):
    _salesperson_email(app, waiting, SUNDAY)
    assert [m.state for m in _messages("queue")] == ["outbox"]

    assert _send(MONDAY_8).held == 1
    [first] = _messages("reconnect")
    # Sunday 10:00 + 7 days = Sunday 13 Dec, no window: Monday 14 Dec 8:00 Berlin.
    until = utc(2026, 12, 14, 7, 0)
    assert (first.state, first.send_after, first.error_code) == ("queued", until, "cap")
    assert "Marketing-Obergrenze" in first.last_error
    [held] = _events("marketing_held")
    assert (held.case_id, held.data["message_id"]) == (waiting.id, first.id)
    # The follow-up delay and the attribution window count from when it goes out.
    assert db.session.scalars(select(ReconnectContact)).one().first_sent_at == until

    first.send_after = MONDAY_8  # due again while the cap still forbids it
    db.session.commit()
    assert _send(MONDAY_8 + timedelta(hours=4)).held == 1
    assert len(_events("marketing_held")) == 1  # said once
    login_as("admin", locale="en")
    page = client.get(f"/case/{waiting.id}").get_data(as_text=True)
    assert "held back by the marketing cap until" in page

    stats = _send(utc(2026, 12, 14, 7, 0))
    assert (stats.held, stats.outbox) == (0, 1)
    assert [m.state for m in _messages("reconnect")] == ["outbox"]


def test_the_salespersons_own_email_counts_but_is_not_held(app, waiting):
    """A person decided it, looking at the case: it goes; the automatic message after it
    is the one that waits."""
    _send(MONDAY_8)
    assert [m.state for m in _messages("reconnect")] == ["outbox"]
    _salesperson_email(app, waiting, MONDAY_8 + timedelta(hours=2))
    assert [m.state for m in _messages("queue")] == ["outbox"]
    assert _events("marketing_held") == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b, c: b.order(c.customer, SUNDAY, "40.00", "Saatgut"), "ordered from the group"),
        (
            lambda b, c: b.order(c.customer, SUNDAY, "40.00", "Werkzeug", state="open"),
            "has an open order",
        ),
        (
            lambda b, c: db.session.add(
                ReconnectExclusion(customer_id=c.customer_id, product_group_id=c.product_group_id)
            ),
            "send switch off",
        ),
        (
            lambda b, c: setattr(
                db.session.get(ReconnectSettings, c.product_group_id), "enabled", False
            ),
            "ReConnect switched off for the group",
        ),
    ],
    ids=["ordered", "open order", "switch off", "group off"],
)
def test_a_waiting_first_message_no_longer_relevant_is_not_sent(
    app, build, client, login_as, waiting, change, reason
):
    change(build, waiting)
    db.session.commit()
    assert _send(MONDAY_8).cancelled == 1
    [first] = _messages("reconnect")
    assert first.state == "cancelled" and first.last_error.startswith("ReConnect: nicht gesendet")
    [event] = _events("reconnect_cancelled")
    assert (event.case_id, event.data["purpose"]) == (waiting.id, "reconnect")
    # No contact: no follow-up, no credit; the case may be contacted again.
    assert db.session.scalars(select(ReconnectContact)).all() == []
    login_as("admin", locale="en")
    page = client.get(f"/case/{waiting.id}").get_data(as_text=True)
    assert f"ReConnect: message not sent ({reason})" in page


def test_a_waiting_first_message_to_a_customer_who_unsubscribed_is_not_sent(app, waiting):
    db.session.add(
        DoNotContact(customer_id=waiting.customer_id, channel="email", reason="unsubscribed")
    )
    db.session.commit()
    assert _send(MONDAY_8).cancelled == 1
    [first] = _messages("reconnect")
    assert first.state == "cancelled" and first.last_error


def test_email_and_sms_of_one_contact_are_one_message_for_the_cap(app, db, build):
    save_windows({"weekdays": range(7), "hours": range(24)}, None)
    company = shop(build, channel_preference="both")
    group = build.group("Saatgut")
    switch_on(group, email=True, sms=True)
    overdue(build, company, group, mobile="+491701234567")
    with app.test_request_context(), time_machine.travel(MONDAY_8, tick=False):
        assert queue_first(Scope(), None, utcnow()).queued == 1
    stats = _send(MONDAY_8)
    assert (stats.outbox, stats.held) == (2, 0)
    assert sorted(m.channel for m in _messages("reconnect")) == ["email", "sms"]


def test_online_the_held_message_reaches_mailjet_only_when_the_cap_allows(app, waiting, request):
    """The same through the real client against the fake Mailjet on 127.0.0.1."""
    online = request.getfixturevalue("online")
    online.templates[FIRST_TEMPLATE] = Template(subject="Zeit für Saatgut", text="Hallo")
    _salesperson_email(app, waiting, SUNDAY)
    assert len(online.emails) == 1
    assert _send(MONDAY_8).held == 1
    assert len(online.emails) == 1
    assert _send(utc(2026, 12, 14, 7, 0)).sent == 1
    [first] = _messages("reconnect")
    assert first.state == "sent" and first.error_code is None and first.last_error is None
    assert [e.custom_id for e in online.emails][1:] == [str(first.id)]


def test_one_batch_decides_each_message_on_its_own(app, db, build):
    """Email and SMS of a customer who ordered are both cancelled (the contact goes
    once); the customer beside her in the batch gets both."""
    save_windows({"weekdays": range(6), "hours": (8, 12, 18)}, None)
    company = shop(build, channel_preference="both")
    group = build.group("Saatgut")
    switch_on(group, email=True, sms=True)
    ordered = overdue(build, company, group, mobile="+491701234567")
    other = overdue(build, company, group, mobile="+491701234568")
    with app.test_request_context(), time_machine.travel(SATURDAY_NIGHT, tick=False):
        assert queue_first(Scope(), None, utcnow()).queued == 2
    build.order(ordered.customer, SUNDAY, "40.00", "Saatgut")
    stats = _send(MONDAY_8)
    assert (stats.cancelled, stats.outbox) == (2, 2)
    states = {(m.customer_id, m.channel): m.state for m in _messages("reconnect")}
    assert states == {
        (ordered.customer_id, "email"): "cancelled",
        (ordered.customer_id, "sms"): "cancelled",
        (other.customer_id, "email"): "outbox",
        (other.customer_id, "sms"): "outbox",
    }
    assert [c.case_id for c in db.session.scalars(select(ReconnectContact))] == [other.id]
    assert {e.data["channel"] for e in _events("reconnect_cancelled")} == {"email", "sms"}

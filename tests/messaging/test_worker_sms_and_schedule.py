"""SMS through the worker, the channel plan and offline mode (the recurring tasks: tests/jobs)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recovery.messaging import outbox
from recovery.models import DoNotContact
from tests.conftest import make_user
from tests.messaging import messaging_fixtures
from tests.messaging.messaging_fixtures import (
    Clock,
    case_for,
    company,
    messages,
    queue_emails,
    run_worker,
)

mailjet, fake, online = messaging_fixtures.FIXTURES  # used as pytest fixtures


SMS_TEXT = 'Hallo {{var:vorname:"Kundin"}}, Ihr Saatgut wartet: <<var:shop_link>>'


def queue_sms(app, case, text=SMS_TEXT):
    with app.test_request_context():
        return outbox.queue_case_sms(case, make_user("sales", name="Sven Sales"), text)


def test_sms_goes_out_with_placeholders_unsubscribe_link_and_e164(app, db, build, online):
    case = case_for(build, first_name="Jörg", mobile="0171 1234567")
    message = queue_sms(app, case)
    db.session.commit()
    assert message.to_address == "+491711234567" and message.channel == "sms"
    stats = run_worker(app)
    assert stats.sent == 1
    [sms] = online.sms
    assert sms.to == "+491711234567" and sms.sender == "Gartenwelt"
    assert sms.text.startswith("Hallo Jörg, Ihr Saatgut wartet: https://shop.gartenwelt.example/")
    assert "\nAbmelden: http://127.0.0.1:5000/p/unsubscribe/" in sms.text
    stored = messages([message.id])[message.id]
    assert stored.state == "sent" and stored.provider_id == sms.message_id


def test_sms_with_a_lost_answer_is_not_sent_twice(app, db, build, online):
    message = queue_sms(app, case_for(build, mobile="0171 1234567"))
    db.session.commit()
    online.faults.add("timeout", seconds=1.0, path="/v4/sms-send")
    run_worker(app)
    stored = messages([message.id])[message.id]
    assert len(online.sms) == 1  # Mailjet took it; the answer was lost
    assert stored.state == "failed" and stored.error_code == "unknown"
    assert "nicht automatisch erneut gesendet" in stored.last_error


def test_sms_unsubscribe_link_blocks_sms_only(app, db, build, client):
    case = case_for(build, mobile="0171 1234567")
    message = queue_sms(app, case)
    db.session.commit()
    link = message.variables["abmeldelink"].removeprefix("http://127.0.0.1:5000")
    page = client.get(link).get_data(as_text=True)
    assert "Werbe-SMS" in page and "Werbe-E-Mails" not in page  # asks about SMS only
    assert client.post(link).status_code == 200
    blocked = {
        d.channel for d in db.session.query(DoNotContact).filter_by(customer_id=case.customer_id)
    }
    assert blocked == {"sms"}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"mobile": None}, "no mobile number"),
        ({"mobile": "0221 123456"}, "is not valid"),  # a fixed line
        ({"mobile": "0171 1234567", "marketing_consent": False}, "no marketing consent"),
    ],
)
def test_sms_refused_with_a_clear_reason(app, db, build, fields, reason):
    case = case_for(build, **fields)
    with (
        app.test_request_context(headers={"Accept-Language": "en"}),
        pytest.raises(outbox.CannotSend, match=reason),
    ):
        outbox.queue_case_sms(case, make_user("sales"), SMS_TEXT)


def test_sms_refused_without_sender_or_when_blocked(app, db, build):
    shop = company(build, sms_sender=None)
    case = case_for(build, shop, mobile="0171 1234567")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(outbox.CannotSend, match="has no SMS sender"):
            outbox.queue_case_sms(case, make_user("sales"), SMS_TEXT)
        db.session.add(DoNotContact(customer_id=case.customer_id, channel="sms", reason="manual"))
        db.session.commit()
        with pytest.raises(outbox.CannotSend, match="blocked by hand"):
            outbox.queue_case_sms(case, make_user("sales"), SMS_TEXT)


def test_channel_plan_follows_the_preference(app, db, build):
    both = build.customer(mobile="0171 1234567")
    email_only = build.customer(mobile=None)
    nothing = build.customer(email=None, mobile=None)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert outbox.plan_channels(both, "both").channels == ["sms", "email"]
        assert outbox.plan_channels(both, "sms_else_email").channels == ["sms"]
        assert outbox.plan_channels(email_only, "sms_else_email").channels == ["email"]
        plan = outbox.plan_channels(email_only, "sms")
        assert plan.channels == [] and plan.reasons == {"sms": "no mobile number"}
        plan = outbox.plan_channels(nothing, "both")
        assert plan.channels == [] and set(plan.reasons) == {"sms", "email"}
        with pytest.raises(ValueError):
            outbox.plan_channels(both, "fax")


def test_with_keys_the_case_button_leaves_sending_to_the_worker(app, db, build, online):
    [message_id] = queue_emails(app, [case_for(build)])
    outbox.deliver_if_offline(messages([message_id])[message_id])
    assert messages([message_id])[message_id].state == "queued"
    assert online.emails == []


def test_offline_worker_puts_due_messages_into_the_outbox(app, db, build):
    clock = Clock()
    ids = queue_emails(app, [case_for(build), case_for(build)])
    later = messages(ids)[ids[1]]
    later.send_after = clock.value + timedelta(hours=1)  # a follow-up, not due yet
    db.session.commit()
    run_worker(app, clock)
    assert [messages(ids)[i].state for i in ids] == ["outbox", "queued"]
    clock.advance(3601)
    run_worker(app, clock)
    assert messages(ids)[ids[1]].state == "outbox"

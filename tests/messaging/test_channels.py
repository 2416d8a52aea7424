"""Channels and SMS providers that register themselves; Twilio as the second SMS
provider, against a fake Twilio on 127.0.0.1 through the official ``twilio`` client;
the channel preference (M4) where messages are queued."""

from __future__ import annotations

import re

import pytest

from recovery.messaging import channels, outbox
from recovery.models import DoNotContact, Message
from tests.conftest import form_fields, make_user
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.fakes.twilio_examples import ERROR_20429
from tests.messaging import messaging_fixtures
from tests.messaging.messaging_fixtures import Clock, case_for, company, messages, run_worker

mailjet, fake, online = messaging_fixtures.FIXTURES  # used as pytest fixtures

TWILIO_FROM = "+4915112345678"
TEXT = 'Hallo {{var:vorname:"Kundin"}}, Ihr Saatgut wartet: <<var:shop_link>>'


@pytest.fixture(scope="module")
def twilio_server():
    with FakeTwilio() as running:
        yield running


@pytest.fixture()
def twilio(app, online, twilio_server, monkeypatch):
    """The app with Mailjet keys (at the fake Mailjet) and Twilio keys (at the fake Twilio)."""
    twilio_server.reset()
    for key, value in {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_BASE_URL": twilio_server.url,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return twilio_server


def twilio_company(build, **fields):
    return company(build, sms_provider="twilio", twilio_sender=TWILIO_FROM, **fields)


def send_sms_from_case_page(client, case, text=TEXT):
    page = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    fields = form_fields(page, f"/case/{case.id}/sms")
    fields["text"] = text
    return client.post(f"/case/{case.id}/sms?list=decline", data=fields)


def test_the_registry_lists_both_channels_and_both_providers():
    assert [c.name for c in channels.channels()] == ["email", "sms"]
    assert [p.name for p in channels.sms_providers()] == ["mailjet_sms", "twilio"]
    assert channels.channel("sms").order == 1
    assert channels.sms_provider(None).name == "mailjet_sms"  # messages stored before
    assert not channels.sms_provider("mailjet_sms").marketing_allowed
    assert channels.sms_provider("twilio").marketing_allowed
    with pytest.raises(channels.UnknownChannel):
        channels.channel("fax")


def test_win_back_sms_from_the_case_page_goes_through_twilio(
    app, db, client, build, login_as, online, twilio
):
    case = case_for(build, twilio_company(build), first_name="Jörg", mobile="0171 1234567")
    login_as("sales")
    assert send_sms_from_case_page(client, case).status_code == 302
    [message] = db.session.query(Message).filter_by(case_id=case.id).all()
    assert message.provider == "twilio" and message.state == "queued"
    stats = run_worker(app)
    assert stats.sent == 1
    [sms] = twilio.sent
    assert sms.to == "+491711234567" and sms.sender == TWILIO_FROM
    assert sms.messaging_service_sid is None
    assert sms.body.startswith("Hallo Jörg, Ihr Saatgut wartet: https://shop.gartenwelt.example/")
    assert "\nAbmelden: http://127.0.0.1:5000/p/unsubscribe/" in sms.body
    assert online.sms == []  # not through Mailjet
    stored = messages([message.id])[message.id]
    assert stored.state == "sent" and stored.provider_id == sms.sid


def test_a_messaging_service_sid_goes_as_messaging_service(app, db, build, twilio):
    service = "MG" + "0123456789abcdef" * 2
    case = case_for(
        build, company(build, sms_provider="twilio", twilio_sender=service), mobile="0171 1234567"
    )
    with app.test_request_context():
        outbox.queue_case_sms(case, make_user("sales"), TEXT)
    db.session.commit()
    run_worker(app)
    [sms] = twilio.sent
    assert sms.messaging_service_sid == service and sms.sender is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"mobile": None}, "no mobile number"),
        ({"mobile": "0171 1234567", "dnc": True}, "unsubscribed"),
    ],
)
def test_twilio_sms_refused_without_mobile_or_consent(
    app, db, client, build, login_as, twilio, fields, reason
):
    dnc = fields.pop("dnc", False)
    case = case_for(build, twilio_company(build), **fields)
    if dnc:
        db.session.add(
            DoNotContact(customer_id=case.customer_id, channel="sms", reason="unsubscribed")
        )
        db.session.commit()
    login_as("sales", locale="en")
    response = send_sms_from_case_page(client, case)
    assert response.status_code == 302
    assert f"No SMS can be sent: {reason}." in client.get(response.location).get_data(as_text=True)
    assert db.session.query(Message).filter_by(case_id=case.id).count() == 0
    assert twilio.sent == []


def test_twilio_without_keys_is_refused_when_queueing(app, db, build, online):
    case = case_for(build, twilio_company(build), mobile="0171 1234567")
    with (
        app.test_request_context(headers={"Accept-Language": "en"}),
        pytest.raises(outbox.CannotSend, match="not set up"),
    ):
        outbox.queue_case_sms(case, make_user("sales"), TEXT)


def test_twilio_429_is_retried_and_an_invalid_number_fails_with_twilios_code(
    app, db, build, twilio
):
    case = case_for(build, twilio_company(build), mobile="0171 1234567")
    with app.test_request_context():
        message = outbox.queue_case_sms(case, make_user("sales"), TEXT)
    db.session.commit()
    twilio.fail_next(429, ERROR_20429)
    clock = Clock()
    stats = run_worker(app, clock, retry_base_seconds=60.0, retry_max_seconds=60.0)
    assert stats.retry == 1 and twilio.sent == []
    stored = messages([message.id])[message.id]
    assert stored.state == "queued" and stored.error_code == "20429"
    assert "Too Many Requests" in stored.last_error
    clock.advance(61)
    stats = run_worker(app, clock)
    assert stats.sent == 1 and len(twilio.sent) == 1

    other = case_for(build, twilio_company(build), mobile="0171 7654321")
    with app.test_request_context():
        bad = outbox.queue_case_sms(other, make_user("sales"), TEXT)
    bad.to_address = "0171 7654321"  # as if a number had slipped through unformatted
    db.session.commit()
    run_worker(app)
    stored = messages([bad.id])[bad.id]
    assert stored.state == "failed" and stored.error_code == "21211"
    assert "The 'To' number 0171 7654321 is not a valid phone number." in stored.last_error


@pytest.mark.parametrize(
    ("preference", "email_refused", "sms_refused"),
    [
        ("both", None, None),
        ("email", None, "does not send SMS here (channel preference: Email only)"),
        ("sms", "does not send Email here (channel preference: SMS only)", None),
        ("sms_else_email", "channel preference: SMS if possible, otherwise email", None),
    ],
)
def test_queueing_follows_the_companys_channel_preference(
    app, db, build, preference, email_refused, sms_refused
):
    case = case_for(build, company(build, channel_preference=preference), mobile="0171 1234567")
    user = make_user("sales")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for queue, refused in (
            (lambda: outbox.queue_case_email(case, user, "standard"), email_refused),
            (lambda: outbox.queue_case_sms(case, user, TEXT), sms_refused),
        ):
            if refused:
                with pytest.raises(outbox.CannotSend, match=re.escape(refused)):
                    queue()
            else:
                assert queue().id


def test_sms_else_email_sends_email_to_customers_without_a_mobile(app, db, build):
    shop = company(build, channel_preference="sms_else_email")
    case = case_for(build, shop, mobile=None)
    with app.test_request_context():
        assert outbox.queue_case_email(case, make_user("sales"), "standard").channel == "email"


@pytest.mark.parametrize(
    ("preference", "disabled", "enabled"),
    [
        ("email", "sms", "email"),
        ("sms", "email", "sms"),
        ("sms_else_email", "email", "sms"),
    ],
)
def test_the_case_page_offers_only_the_channels_the_preference_allows(
    client, login_as, build, preference, disabled, enabled
):
    login_as("sales", locale="en")
    case = case_for(build, company(build, channel_preference=preference), mobile="0171 1234567")
    page = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)

    def button(action: str) -> str:
        form = re.search(
            rf'<form[^>]*action="/case/{case.id}/{action}\?[^"]*".*?</form>', page, re.S
        )
        return re.search(r"<button[^>]*>", form.group(0)).group(0)

    assert "disabled" in button(disabled)
    assert "disabled" not in button(enabled)
    assert "channel preference" in page


def test_the_case_page_of_a_company_with_both_channels_offers_both(client, login_as, build):
    login_as("sales", locale="en")
    case = case_for(build, company(build), mobile="0171 1234567")
    page = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    assert "channel preference" not in page

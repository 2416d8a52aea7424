"""The Mailjet transport against the fake Mailjet: real mailjet-rest, real HTTP on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mailjet_rest import Client
from mailjet_rest.utils.guardrails import SecurityGuard

from recovery.messaging.mailjet import (
    MAX_MESSAGES_PER_CALL,
    MailjetTransport,
    MailjetUnavailable,
    OutgoingEmail,
    OutgoingSms,
    TemplateNotFound,
    _message_payload,
    idempotency_key,
)
from recovery.messaging.variables import VARIABLE_NAMES, CustomerVars, build_variables
from tests.fakes.mailjet import API_KEY, API_SECRET, SMS_TOKEN, FakeMailjet, Template

STANDARD, VOUCHER = 4711, 4712
VENDOR = Path(__file__).parents[1] / "data" / "vendor" / "mailjet"
CLIENT_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def server():
    templates = {
        STANDARD: Template(subject="Wir vermissen Sie", html="<p>Hallo {{var:vorname}}</p>"),
        VOUCHER: Template(subject="Ihr Gutschein", text="Gutschein für {{var:name}}"),
    }
    with FakeMailjet(templates=templates) as running:
        yield running


@pytest.fixture
def fake(server):
    server.reset()
    return server


@pytest.fixture(scope="module")
def transport(server):
    with MailjetTransport(
        API_KEY, API_SECRET, sms_token=SMS_TOKEN, base_url=server.url, timeout=CLIENT_TIMEOUT
    ) as client:
        yield client


def full_variables() -> dict[str, str]:
    customer = CustomerVars(
        first_name="Erika",
        last_name="Mustermann",
        company_name="Mustermann Gartenbau GmbH",
        city="Köln",
        country="DE",
        email="erika@example.com",
        number="K-10023",
        customer_group="Fachhandel",
        last_order_at=datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
        last_product_group="Gartengeräte",
    )
    return build_variables(
        customer,
        unsubscribe_url="https://app.example.com/u/tok",
        shop_link="https://shop.example.com",
        sales_person="Max Vertrieb",
        as_of=datetime(2025, 7, 12, 8, 0, tzinfo=UTC),
    )


def email(custom_id: str, **overrides) -> OutgoingEmail:
    values = {
        "custom_id": custom_id,
        "to_email": f"kunde{custom_id}@example.com",
        "to_name": "Erika Mustermann",
        "from_email": "shop@example.com",
        "from_name": "Gartenbau Shop",
        "template_id": STANDARD,
        "variables": full_variables(),
        "error_report_email": "admin@example.com",
        "unsubscribe_url": "https://app.example.com/u/tok",
    }
    values.update(overrides)
    return OutgoingEmail(**values)


def vendor_text(name: str) -> str:
    return (VENDOR / name).read_text(encoding="utf-8")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- payload ----------------------------------------------------------------------------


def test_standard_template_send_carries_the_full_variable_set(fake, transport):
    [result] = transport.send_emails([email("101")])

    [sent] = fake.delivered("101")
    assert result.outcome == "accepted"
    assert result.provider_id == str(sent.message_id)
    assert result.provider_uuid == sent.uuid
    assert sent.payload == {
        "From": {"Email": "shop@example.com", "Name": "Gartenbau Shop"},
        "To": [{"Email": "kunde101@example.com", "Name": "Erika Mustermann"}],
        "CustomID": "101",
        "TemplateID": STANDARD,
        "TemplateLanguage": True,
        "Variables": full_variables(),
        "TemplateErrorReporting": {"Email": "admin@example.com"},
        "Headers": {
            "List-Unsubscribe": "<https://app.example.com/u/tok>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
    assert set(sent.variables) == set(VARIABLE_NAMES)


def test_standard_and_voucher_go_in_one_call_and_answer_in_order(fake, transport):
    results = transport.send_emails(
        [email("201"), email("202", template_id=VOUCHER, subject="Ihr Gutschein: 10 %")]
    )

    assert [(r.custom_id, r.outcome) for r in results] == [("201", "accepted"), ("202", "accepted")]
    assert fake.call_count("/v3.1/send") == 1
    [voucher] = fake.delivered("202")
    assert voucher.template_id == VOUCHER
    assert voucher.subject == "Ihr Gutschein: 10 %"
    assert voucher.variables["letzte_warengruppe"] == "Gartengeräte"


def test_empty_variables_are_left_out_so_mailjet_fallbacks_apply(fake, transport):
    variables = dict(full_variables(), vorname="", nachname="")

    transport.send_emails([email("301", variables=variables)])

    [sent] = fake.delivered("301")
    assert "vorname" not in sent.variables
    assert "nachname" not in sent.variables
    assert sent.variables["firmenname"] == "Mustermann Gartenbau GmbH"


def test_plain_text_notification_needs_no_template_language(fake, transport):
    offer = OutgoingEmail(
        custom_id="401",
        to_email="angebote@example.com",
        from_email="shop@example.com",
        subject="Angebot vorbereiten: K-10023",
        text="Kunde: Erika Mustermann\nBitte Angebot erstellen.",
    )

    [result] = transport.send_emails([offer])

    [sent] = fake.delivered("401")
    assert result.outcome == "accepted"
    assert sent.payload["TextPart"].startswith("Kunde: Erika")
    assert "TemplateLanguage" not in sent.payload
    assert "TemplateErrorReporting" not in sent.payload


def test_our_idempotency_key_is_the_one_mailjet_rest_computes(fake, transport):
    emails = [
        email("601"),
        email("602", template_id=None, variables={"CustomID": "x", "a": ""}, text="Hallo"),
        email("603", event_payload="case:7", html="<p>Hi</p>", subject="Betreff"),
        email("604", error_report_email=None, unsubscribe_url=None),
    ]
    for sandbox in (False, True):
        payload = {"Messages": [_message_payload(e) for e in emails]}
        if sandbox:
            payload["SandboxMode"] = True
        assert idempotency_key(payload) == SecurityGuard.generate_payload_fingerprint(payload)
    # A different recipient is a different call; a different CustomID is not (the client's rule).
    one = {"Messages": [_message_payload(email("605"))]}
    other = {"Messages": [_message_payload(email("605", to_email="b@example.com"))]}
    same = {"Messages": [_message_payload(email("606", to_email="kunde605@example.com"))]}
    assert idempotency_key(one) != idempotency_key(other)
    assert idempotency_key(one) == idempotency_key(same)
    # The key the client sends is ours, and the call goes through with it.
    sent: list[str | None] = []
    hooks = transport._send_client.session.hooks["response"]
    hooks.append(lambda response, **_: sent.append(response.request.headers.get("Idempotency-Key")))
    try:
        [result] = transport.send_emails([email("607")])
    finally:
        hooks.pop()
    assert result.outcome == "accepted"
    assert sent == [idempotency_key({"Messages": [_message_payload(email("607"))]})]


def test_fifty_emails_fit_in_one_call_and_more_are_refused(fake, transport):
    batch = [email(str(n)) for n in range(MAX_MESSAGES_PER_CALL)]

    results = transport.send_emails(batch)

    assert [r.outcome for r in results] == ["accepted"] * MAX_MESSAGES_PER_CALL
    assert fake.call_count("/v3.1/send") == 1
    with pytest.raises(ValueError, match="at most 50"):
        transport.send_emails(batch + [email("51")])


def test_sandbox_validates_without_delivering(fake, transport):
    [ok, bad] = transport.send_emails([email("501"), email("502", template_id=999)], sandbox=True)

    assert ok.outcome == "accepted"
    assert ok.provider_id is None
    assert bad.outcome == "rejected"
    assert fake.emails == []


# -- per-message errors ---------------------------------------------------------------------


def test_per_message_errors_keep_mailjets_code_and_text(fake, transport):
    results = transport.send_emails(
        [email("601"), email("602", template_id=999), email("603", to_email="not-an-address")]
    )

    assert [r.outcome for r in results] == ["accepted", "rejected", "rejected"]
    assert results[1].error_code == "send-0010"
    assert results[1].error_message == 'Template ID "999" doesn\'t exist for your account.'
    assert results[2].error_code == "mj-0013"
    assert results[2].error_message == '"not-an-address" is an invalid email address.'
    # Mailjet answered 400 for the call, yet the valid message went out.
    assert len(fake.delivered("601")) == 1
    assert fake.delivered("602") == fake.delivered("603") == []


def test_unauthorised_sender_is_rejected_with_mailjets_error(fake, transport):
    fake.senders = {"shop@example.com"}

    [result] = transport.send_emails([email("701", from_email="other@example.com")])

    assert result.outcome == "rejected"
    assert result.error_code == "send-0008"
    assert "not an authorized sender" in result.error_message


# -- when Mailjet surely did not take it: retry -----------------------------------------------


def test_429_means_retry_after_the_given_time_and_the_client_does_not_retry(fake, transport):
    fake.faults.add("status", status=429, retry_after="30")

    [result] = transport.send_emails([email("801")])

    assert result.outcome == "retry"
    assert result.retry_after == 30.0
    assert fake.call_count("/v3.1/send") == 1
    assert fake.emails == []


def test_rate_limit_beyond_n_calls_per_second_is_retry(fake, transport):
    fake.rate_limit = 2

    outcomes = [transport.send_emails([email(str(n))])[0].outcome for n in range(3)]

    assert outcomes == ["accepted", "accepted", "retry"]
    assert len(fake.emails) == 2


def test_connection_refused_is_retry():
    with MailjetTransport(
        API_KEY, API_SECRET, base_url=f"http://127.0.0.1:{closed_port()}", timeout=CLIENT_TIMEOUT
    ) as transport:
        [result] = transport.send_emails([email("901")])

    assert result.outcome == "retry"
    assert result.error_code == "network"


def test_refused_credentials_stop_sending_they_are_no_retry(fake):
    with MailjetTransport(API_KEY, "wrong", base_url=fake.url, timeout=CLIENT_TIMEOUT) as transport:
        [result] = transport.send_emails([email("1001")])

    assert (result.outcome, result.halt) == ("rejected", True)
    assert result.error_code == "mj-0015"
    assert fake.emails == []


def test_suspended_api_key_stops_sending_with_mailjets_code(fake, transport):
    # Mailjet's documented error table: 401 / mj-0001 "when API key is suspended".
    fake.faults.add("answer", status=401, body=vendor_text("send_v31_api_key_suspended.json"))

    results = transport.send_emails([email("1002"), email("1003")])

    assert [(r.outcome, r.halt, r.error_code) for r in results] == [
        ("rejected", True, "mj-0001"),
        ("rejected", True, "mj-0001"),
    ]
    assert results[0].error_message == "API key is suspended."


@pytest.mark.parametrize("status", [400, 403])
def test_sender_not_authorised_stops_sending_with_mailjets_code(fake, transport, status):
    # Mailjet's own example of send-0008 (per-message StatusCode 403), whatever the
    # status of the whole call.
    body = vendor_text("send_v31_sender_not_authorised.json")
    fake.faults.add("answer", status=status, body=body)

    [result] = transport.send_emails([email("1004")])

    assert (result.outcome, result.halt, result.error_code) == ("rejected", True, "send-0008")
    assert "is not an authorized sender email address" in result.error_message


# -- when nobody can know: unknown, then look it up ---------------------------------------


def test_500_is_unknown_sent_once_and_the_lookup_tells_it_was_not_taken(fake, transport):
    fake.faults.add("status", status=500)

    [result] = transport.send_emails([email("1101")])

    assert result.outcome == "unknown"
    assert result.error_code == "http-500"
    assert fake.call_count("/v3.1/send") == 1
    assert transport.find_by_custom_id("1101").found is False


def test_timeout_after_acceptance_is_unknown_and_the_lookup_finds_it(fake, transport):
    fake.faults.add("timeout", seconds=CLIENT_TIMEOUT * 3, path="/v3.1/send")

    [result] = transport.send_emails([email("1201")])
    lookup = transport.find_by_custom_id("1201")

    assert result.outcome == "unknown"
    [sent] = fake.delivered("1201")
    assert lookup.found is True
    assert lookup.provider_id == str(sent.message_id)
    assert lookup.status == "sent"


def test_connection_dropped_after_acceptance_is_unknown_and_found(fake, transport):
    fake.faults.add("drop", path="/v3.1/send")

    [result] = transport.send_emails([email("1301")])

    assert result.outcome == "unknown"
    assert transport.find_by_custom_id("1301").found is True
    assert len(fake.delivered("1301")) == 1


def test_connection_dropped_before_acceptance_is_unknown_and_not_found(fake, transport):
    fake.faults.add("reset", path="/v3.1/send")

    [result] = transport.send_emails([email("1401")])

    assert result.outcome == "unknown"
    assert transport.find_by_custom_id("1401").found is False


def test_broken_answer_is_unknown(fake, transport):
    fake.faults.add("broken_json", path="/v3.1/send")

    [result] = transport.send_emails([email("1501")])

    assert result.outcome == "unknown"
    assert len(fake.delivered("1501")) == 1


def test_lookup_while_mailjet_is_down_raises_unavailable(fake, transport):
    fake.faults.add("status", status=503, retry_after="12", path="/v3/REST/message")

    with pytest.raises(MailjetUnavailable) as caught:
        transport.find_by_custom_id("1601")

    assert caught.value.retry_after == 12.0


# -- retries are ours alone ------------------------------------------------------------------


def test_mailjet_rest_would_retry_posts_but_our_sessions_never_retry(transport):
    stock = Client(auth=(API_KEY, API_SECRET), version="v3.1")
    stock_retry = stock.session.get_adapter("https://api.mailjet.com/").max_retries
    assert stock_retry.total == 3
    assert "POST" in stock_retry.allowed_methods
    stock.close()

    for client in (transport._send_client, transport._rest_client, transport._sms_client):
        for url in ("https://api.mailjet.com/", "http://127.0.0.1/"):
            retry = client.session.get_adapter(url).max_retries
            assert (retry.total, retry.read) == (0, False)


def test_concurrent_sends_are_each_recorded_once(fake, transport):
    def send(n: int) -> None:
        transport.send_emails([email(f"c{n}")])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(e.custom_id for e in fake.emails) == sorted(f"c{n}" for n in range(8))
    assert len({e.message_id for e in fake.emails}) == 8


# -- templates ------------------------------------------------------------------------------


def test_template_content_for_previews(transport):
    content = transport.get_template(STANDARD)

    assert content.subject == "Wir vermissen Sie"
    assert content.html == "<p>Hallo {{var:vorname}}</p>"
    assert content.text == ""


def test_missing_template_raises_template_not_found(transport):
    with pytest.raises(TemplateNotFound):
        transport.get_template(12345)


# -- SMS ------------------------------------------------------------------------------------


def test_sms_is_accepted_with_mailjets_message_id(fake, transport):
    result = transport.send_sms(OutgoingSms("1701", "Gartenbau", "+491711234567", "Hallo Erika"))

    [sms] = fake.sms
    assert result.outcome == "accepted"
    assert result.provider_id == sms.message_id
    assert (sms.sender, sms.to, sms.text) == ("Gartenbau", "+491711234567", "Hallo Erika")


@pytest.mark.parametrize(
    ("sender", "to", "code"),
    [
        ("Gartenbau-Shop", "+491711234567", "mj-0006"),
        ("GB", "+491711234567", "mj-0020"),
        ("Gartenbau", "01711234567", "sms-0002"),
    ],
)
def test_invalid_sms_is_rejected_with_mailjets_code(fake, transport, sender, to, code):
    result = transport.send_sms(OutgoingSms("1801", sender, to, "Hallo"))

    assert result.outcome == "rejected"
    assert result.error_code == code
    assert fake.sms == []


def test_sms_with_a_wrong_token_stops_sending(fake):
    with MailjetTransport(
        API_KEY, API_SECRET, sms_token="wrong", base_url=fake.url, timeout=CLIENT_TIMEOUT
    ) as transport:
        result = transport.send_sms(OutgoingSms("1901", "Gartenbau", "+491711234567", "Hallo"))

    assert (result.outcome, result.halt) == ("rejected", True)
    assert fake.sms == []


def test_sms_timeout_after_acceptance_is_unknown(fake, transport):
    fake.faults.add("timeout", seconds=CLIENT_TIMEOUT * 3, path="/v4/sms-send")

    result = transport.send_sms(OutgoingSms("2001", "Gartenbau", "+491711234567", "Hallo"))

    assert result.outcome == "unknown"
    assert len(fake.sms) == 1

"""The worker sends stored messages through the real client to the fake Mailjet."""

from __future__ import annotations

from dataclasses import replace

from recovery.messaging.pace import TokenBucket
from recovery.messaging.sending import Sender
from recovery.messaging.variables import VARIABLE_NAMES
from tests.messaging import messaging_fixtures
from tests.messaging.messaging_fixtures import (
    FAST,
    STANDARD,
    VOUCHER,
    bulk_messages,
    case_for,
    company,
    messages,
    queue_emails,
    run_worker,
)

mailjet, fake, online = messaging_fixtures.FIXTURES  # used as pytest fixtures


def test_standard_and_voucher_go_out_with_every_variable(app, db, build, online):
    shop = company(build, error_report_email="templates@gartenwelt.example")
    full = {
        "first_name": "Erika",
        "last_name": "Mustermann",
        "company_name": "Mustermann Gartenbau GmbH",
        "city": "Köln",
        "country": "DE",
        "number": "K-4711",
        "customer_group": "Fachhandel",
    }
    standard = queue_emails(app, [case_for(build, shop, **full)], "standard")
    voucher = queue_emails(app, [case_for(build, shop, **full)], "voucher")
    stats = run_worker(app)
    assert stats.sent == 2
    for ids, template in ((standard, STANDARD), (voucher, VOUCHER)):
        message = messages(ids)[ids[0]]
        [sent] = online.delivered(str(message.id))
        assert sent.template_id == template
        assert sent.sender == "service@gartenwelt.example"
        assert sent.payload["From"]["Name"] == "Gartenwelt"
        assert set(sent.variables) == set(VARIABLE_NAMES)  # all 15, none empty
        assert sent.variables == message.variables
        assert sent.variables["betreuer"] == "Sven Sales"
        assert sent.variables["letzte_warengruppe"] == "Saatgut"
        unsubscribe = sent.variables["abmeldelink"]
        assert unsubscribe.startswith("http://127.0.0.1:5000/p/unsubscribe/")
        assert sent.headers["List-Unsubscribe"] == f"<{unsubscribe}>"
        assert sent.payload["TemplateLanguage"] is True
        assert sent.payload["TemplateErrorReporting"] == {"Email": "templates@gartenwelt.example"}
        assert message.state == "sent" and message.provider_id == str(sent.message_id)
        assert message.locked_by is None and message.attempts == 1


def test_one_claim_is_checked_once_and_sent_in_calls_of_the_batch_size(app, db, build, online):
    ids = bulk_messages(company(build), 45)
    stats = run_worker(app, batch_size=20)
    assert (stats.batches, stats.claimed, stats.sent) == (1, 45, 45)
    assert online.call_count("/v3.1/send") == 3  # 20 + 20 + 5
    assert sorted(int(e.custom_id) for e in online.emails) == sorted(ids)


def test_a_claim_is_no_bigger_than_the_worker_sends_in_a_third_of_its_lease():
    def size(**options):
        return Sender("w", replace(FAST, **options), None, TokenBucket(1000)).claim_size

    assert size(batch_size=50, claim_size=500) == 500
    assert size(batch_size=50, rate=2.0, lease_seconds=6.0) == 200  # 4 calls in 2 s
    assert size(batch_size=50, rate=0.1, lease_seconds=6.0) == 50  # never less than a call


def test_customer_who_unsubscribed_after_queueing_gets_nothing(app, db, build, client, online):
    [message_id] = queue_emails(app, [case_for(build)])
    link = messages([message_id])[message_id].variables["abmeldelink"]
    assert client.post(link.removeprefix("http://127.0.0.1:5000")).status_code == 200
    stats = run_worker(app)
    assert stats.cancelled == 1 and stats.sent == 0
    assert online.delivered(str(message_id)) == []
    assert online.call_count("/v3.1/send") == 0
    message = messages([message_id])[message_id]
    assert message.state == "cancelled"
    assert message.last_error in ("abgemeldet", "unsubscribed")


def test_consent_withdrawn_in_the_source_cancels_too(app, db, build, online):
    case = case_for(build)
    [message_id] = queue_emails(app, [case])
    case.customer.marketing_consent = False
    db.session.commit()
    run_worker(app)
    message = messages([message_id])[message_id]
    assert message.state == "cancelled" and online.emails == []
    assert message.last_error in ("keine Werbeeinwilligung", "no marketing consent")


def test_offer_request_is_sent_as_text_without_consent_check(app, db, build, online):
    from recovery.messaging import outbox
    from tests.conftest import make_user

    case = case_for(build, marketing_consent=False)
    user = make_user("sales", name="Sven Sales")
    with app.test_request_context():
        message = outbox.queue_offer_request(case, user, "10 % auf Saatgut")
    db.session.commit()
    run_worker(app)
    [sent] = online.delivered(str(message.id))
    assert sent.to == "angebote@gartenwelt.example"
    assert "10 % auf Saatgut" in sent.payload["TextPart"]
    assert "Headers" not in sent.payload  # no unsubscribe link in an internal mail

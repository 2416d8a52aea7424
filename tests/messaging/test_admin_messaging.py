"""The messaging admin pages: outbox filters and retry, job runs, companies, texts."""

from __future__ import annotations

import re

import pytest

from recovery.models import JobRun, Message, utcnow
from recovery.models.message import GroupMessageTexts
from tests.conftest import csrf_from, form_fields
from tests.messaging import messaging_fixtures
from tests.messaging.messaging_fixtures import (
    STANDARD,
    bulk_messages,
    case_for,
    company,
    messages,
    run_worker,
)

mailjet, fake, online = messaging_fixtures.FIXTURES  # used as pytest fixtures


PAGES = ["/admin/outbox", "/admin/jobs", "/admin/companies", "/admin/product-groups"]


def test_sales_users_get_403_everywhere(client, db, build, login_as):
    shop = company(build)
    group = build.group("Saatgut")
    [message_id] = bulk_messages(shop, 1, state="failed")
    login_as("sales")
    for url in [
        *PAGES,
        f"/admin/outbox/{message_id}",
        f"/admin/companies/{shop.id}",
        f"/admin/companies/{shop.id}/preview/standard",
        f"/admin/product-groups/{group.id}",
    ]:
        assert client.get(url).status_code == 403, url
    for url in [
        f"/admin/outbox/{message_id}/retry",
        f"/admin/companies/{shop.id}",
        f"/admin/product-groups/{group.id}",
        "/admin/jobs",
    ]:
        # A valid CSRF token (from a page sales may see): refused for the role, not the token.
        token = csrf_from(client.get("/").get_data(as_text=True))
        assert client.post(url, data={"csrf_token": token}).status_code == 403, url
    assert messages([message_id])[message_id].state == "failed"


def test_pages_render_for_admins(client, db, build, login_as):
    company(build)
    build.group("Saatgut")
    login_as("admin")
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
    nav = client.get("/admin/").get_data(as_text=True)
    for url in PAGES:
        assert f'href="{url}"' in nav


def test_outbox_filters_by_state_channel_and_purpose(client, db, build, login_as):
    shop = company(build)
    sent = bulk_messages(shop, 2, state="sent")
    failed = bulk_messages(
        shop, 1, state="failed", error_code="send-0010", last_error="no template"
    )
    sms = bulk_messages(shop, 1, channel="sms", state="sent")
    login_as("admin")

    def listed(**args) -> set[int]:
        html = client.get("/admin/outbox", query_string=args).get_data(as_text=True)
        return {int(i) for i in re.findall(r'href="/admin/outbox/(\d+)"', html)}

    assert listed() == {*sent, *failed, *sms}
    assert listed(state="failed") == set(failed)
    assert listed(channel="sms") == set(sms)
    assert listed(state="sent", channel="email") == set(sent)
    assert listed(purpose="offer") == set()
    assert listed(state="bogus") == {*sent, *failed, *sms}  # an unknown value filters nothing
    html = client.get("/admin/outbox", query_string={"state": "failed"}).get_data(as_text=True)
    assert "send-0010" in html and "no template" in html


def test_failed_message_shows_the_reason_and_can_be_retried(client, db, build, online, login_as):
    [message_id] = bulk_messages(company(build), 1)
    db.session.get(Message, message_id).template_id = 999
    db.session.commit()
    run_worker(client.application)
    login_as("admin")
    html = client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    assert "send-0010" in html and "Template ID &#34;999&#34; doesn&#39;t exist" in html
    # Fix the cause, then retry: back in the queue, due now, and the worker sends it.
    db.session.get(Message, message_id).template_id = STANDARD
    db.session.commit()
    fields = form_fields(html, f"/admin/outbox/{message_id}/retry")
    response = client.post(f"/admin/outbox/{message_id}/retry", data=fields)
    assert response.status_code == 302
    message = messages([message_id])[message_id]
    assert message.state == "queued" and message.last_error is None and message.attempts == 0
    run_worker(client.application)
    assert len(online.delivered(str(message_id))) == 1


def test_retry_needs_the_csrf_token_and_a_failed_message(client, db, build, login_as):
    [failed] = bulk_messages(company(build), 1, state="failed")
    [sent] = bulk_messages(company(build), 1, state="sent")
    login_as("admin")
    assert client.post(f"/admin/outbox/{failed}/retry", data={}).status_code == 400
    assert messages([failed])[failed].state == "failed"
    token = csrf_from(client.get("/admin/outbox").get_data(as_text=True))
    response = client.post(f"/admin/outbox/{sent}/retry", data={"csrf_token": token})
    assert response.status_code == 302
    assert messages([sent])[sent].state == "sent"


def test_offline_retry_goes_straight_to_the_outbox(client, db, build, login_as):
    [failed] = bulk_messages(company(build), 1, state="failed")
    login_as("admin")
    token = csrf_from(client.get("/admin/outbox").get_data(as_text=True))
    client.post(f"/admin/outbox/{failed}/retry", data={"csrf_token": token, "back": "//evil"})
    assert messages([failed])[failed].state == "outbox"


def test_job_runs_show_progress_and_errors(client, db, login_as):
    db.session.add_all(
        [
            JobRun(
                kind="nightly",
                state="running",
                progress_done=2,
                progress_total=5,
                message="sync shop",
                started_at=utcnow(),
            ),
            JobRun(
                kind="nightly", state="failed", error="sync shop: HTTP 503", started_at=utcnow()
            ),
        ]
    )
    db.session.commit()
    login_as("admin")
    html = client.get("/admin/jobs").get_data(as_text=True)
    assert '<progress max="5" value="2">' in html and "2 von 5" in html
    assert "sync shop: HTTP 503" in html
    # in the reader's words, with who started it, and polled while it runs
    assert "Nächtlicher Lauf" in html and ">läuft<" in html and ">fehlgeschlagen<" in html
    assert ">nightly<" not in html and ">running<" not in html and "der Worker" in html
    assert 'class="job-progress" data-status-url="/admin/jobs/' in html
    assert "js/job-progress.js" in html


def test_worker_settings_are_saved(client, db, login_as):
    from recovery.jobs.schedule import worker_settings

    login_as("admin")
    token = csrf_from(client.get("/admin/jobs").get_data(as_text=True))
    response = client.post(
        "/admin/jobs", data={"csrf_token": token, "nightly_enabled": "y", "nightly_hour": "4"}
    )
    assert response.status_code == 302
    settings = worker_settings()
    assert settings.nightly_enabled and settings.nightly_hour == 4


def _company_form(client, shop, **changes):
    html = client.get(f"/admin/companies/{shop.id}").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(html),
        "sender_email": "service@gartenwelt.example",
        "sender_name": "Gartenwelt",
        "standard_template_id": str(STANDARD),
        "voucher_template_id": "",
        "offer_email": "",
        "sms_sender": "Gartenwelt",
        "sms_provider": "mailjet_sms",
        "twilio_sender": "",
        "channel_preference": "both",
        "shop_url": "https://shop.gartenwelt.example/",
        "error_report_email": "",
    }
    data.update(changes)
    return client.post(f"/admin/companies/{shop.id}", data=data)


def test_company_settings_are_saved(client, db, build, login_as):
    shop = company(build)
    login_as("admin")
    response = _company_form(
        client, shop, sender_email="neu@gartenwelt.example", voucher_template_id=""
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert shop.sender_email == "neu@gartenwelt.example" and shop.voucher_template_id is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sms_sender", "Gartenwelt GmbH", "SMS sender: 3 to 11 letters or digits"),
        ("sms_sender", "GW!", "SMS sender: 3 to 11 letters or digits"),
        ("sender_email", "kein-at-zeichen", "Sender address: not an email address"),
        ("standard_template_id", "abc", "Standard template ID"),
        ("shop_url", "shop", "Shop URL: not a web address"),
    ],
)
def test_company_validation_names_the_field(client, db, build, login_as, field, value, message):
    shop = company(build)
    login_as("admin", locale="en")
    response = _company_form(client, shop, **{field: value})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert shop.sms_sender == "Gartenwelt" and shop.sender_email == "service@gartenwelt.example"


@pytest.mark.parametrize(
    ("locale", "mailjet_text", "twilio_text"),
    [
        (
            "en",
            "Mailjet's terms forbid marketing use",
            "Twilio's Messaging Policy allows marketing",
        ),
        (
            "de",
            "Mailjets Bedingungen verbieten",
            "Die Messaging Policy von Twilio erlaubt Werbe-SMS",
        ),
    ],
)
def test_company_page_says_what_each_sms_provider_may_be_used_for(
    client, db, build, login_as, locale, mailjet_text, twilio_text
):
    shop = company(build)
    login_as("admin", locale=locale)
    html = client.get(f"/admin/companies/{shop.id}").get_data(as_text=True)
    assert mailjet_text in html and twilio_text in html
    assert '<option selected value="mailjet_sms">' in html


def test_company_chooses_twilio_with_a_sender_and_a_channel_preference(client, db, build, login_as):
    shop = company(build)
    login_as("admin", locale="en")
    response = _company_form(client, shop, sms_provider="twilio", twilio_sender="")
    assert response.status_code == 400
    assert "Twilio sender: needed when Twilio sends the SMS." in response.get_data(as_text=True)
    response = _company_form(
        client,
        shop,
        sms_provider="twilio",
        twilio_sender="+4915112345678",
        channel_preference="sms_else_email",
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (shop.sms_provider, shop.twilio_sender, shop.channel_preference) == (
        "twilio",
        "+4915112345678",
        "sms_else_email",
    )


def test_template_preview_without_keys_says_so(client, db, build, login_as):
    shop = company(build)
    login_as("admin", locale="en")
    html = client.get(f"/admin/companies/{shop.id}").get_data(as_text=True)
    assert "No Mailjet keys are set, so the template cannot be fetched." in html


def test_template_preview_uses_a_real_customers_variables(client, db, build, online, login_as):
    case = case_for(build, first_name="Jörg", number="K-777")
    shop = case.company
    login_as("admin", locale="en")
    html = client.get(f"/admin/companies/{shop.id}?customer=K-777").get_data(as_text=True)
    assert "Wir vermissen Sie, Jörg" in html  # the subject, filled in
    assert "Filled with the variables of Jörg" in html
    assert f"/admin/companies/{shop.id}/preview/standard?customer=K-777" in html
    frame = client.get(f"/admin/companies/{shop.id}/preview/standard?customer=K-777")
    assert frame.status_code == 200
    body = frame.get_data(as_text=True)
    assert "Hallo Jörg" in body
    assert "https://example.com/abmelden/beispiel" in body  # never a real unsubscribe link
    assert "sandbox" in frame.headers["Content-Security-Policy"]
    assert "script-src" not in frame.headers["Content-Security-Policy"]
    missing = client.get(f"/admin/companies/{shop.id}?customer=NOPE").get_data(as_text=True)
    assert "No customer with number NOPE" in missing


def _group_form(client, group, **changes):
    html = client.get(f"/admin/product-groups/{group.id}").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(html),
        "first_email_template_id": "7001",
        "followup_email_template_id": "",
        "first_sms_text": 'Hallo {{var:vorname:"Kundin"}}, Ihr Saatgut wartet.',
        "followup_sms_text": "",
    }
    data.update(changes)
    return client.post(f"/admin/product-groups/{group.id}", data=data)


def test_group_texts_are_saved_with_segment_count(client, db, build, login_as):
    group = build.group("Saatgut")
    login_as("admin", locale="en")
    assert _group_form(client, group, first_sms_text="Hallo\r\nWelt").status_code == 302
    texts = db.session.get(GroupMessageTexts, group.id)
    assert texts.first_email_template_id == 7001 and texts.first_sms_text == "Hallo\nWelt"
    assert texts.followup_sms_text is None
    html = client.get(f"/admin/product-groups/{group.id}").get_data(as_text=True)
    assert "characters, 1 SMS (GSM-7)" in html
    assert (
        'src="/static/js/sms-counter.js"' in html and 'data-counter="first_sms_text-count"' in html
    )


def test_group_texts_with_unknown_placeholder_are_refused(client, db, build, login_as):
    group = build.group("Saatgut")
    login_as("admin", locale="en")
    response = _group_form(client, group, followup_sms_text="Hallo {{var:vornahme}}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Follow-up SMS: unknown placeholder vornahme" in html
    assert db.session.get(GroupMessageTexts, group.id) is None


def test_group_sms_longer_than_five_parts_is_refused(client, db, build, login_as):
    group = build.group("Saatgut")
    login_as("admin", locale="en")
    response = _group_form(client, group, first_sms_text="😀" * 330)
    assert response.status_code == 400
    assert "First SMS: " in response.get_data(as_text=True)


def test_a_message_in_the_outbox_is_not_called_sent(client, db, build, login_as):
    [failed] = bulk_messages(company(build), 1, state="failed")
    login_as("admin")
    token = csrf_from(client.get("/admin/outbox").get_data(as_text=True))
    client.post(f"/admin/outbox/{failed}/retry", data={"csrf_token": token})
    assert messages([failed])[failed].state == "outbox"
    html = client.get(f"/admin/outbox/{failed}").get_data(as_text=True)
    assert "Nicht gesendet" in html and "im Postausgang seit" in html
    assert "<dt>Gesendet</dt>" not in html

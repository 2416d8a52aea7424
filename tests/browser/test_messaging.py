"""Messaging admin in the browser: the SMS counter while typing, the outbox with retry."""

from __future__ import annotations

import pytest

from recovery.models import Message
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD, make_user
from tests.messaging.messaging_fixtures import bulk_messages, company

pytestmark = pytest.mark.browser


def test_sms_counter_follows_typing(page, shot, build, db):
    group = build.group("Saatgut")
    admin = make_user("admin", name="Ada Admin")
    log_in(page, admin.email, PASSWORD)
    page.goto(f"/admin/product-groups/{group.id}")
    counter = page.locator("#first_sms_text-count")
    area = page.locator("textarea[name=first_sms_text]")
    # Only the unsubscribe notice: "Abmelden: " + the 37-character sample link.
    assert counter.inner_text() == "47 Zeichen mit Abmeldehinweis, 1 SMS (GSM-7)"
    area.fill("Hallo {{var:vorname}}!")  # "Hallo Erika!" + line break + notice
    assert counter.inner_text() == "60 Zeichen mit Abmeldehinweis, 1 SMS (GSM-7)"
    area.fill("x" * 112)
    assert counter.inner_text() == "160 Zeichen mit Abmeldehinweis, 1 SMS (GSM-7)"
    area.fill("x" * 113)
    assert counter.inner_text() == "161 Zeichen mit Abmeldehinweis, 2 SMS (GSM-7)"
    area.fill("Frühling 🌷")
    text = counter.inner_text()
    assert "UCS-2" in text and "🌷" in text
    shot("messaging-01-sms-counter")
    area.fill("Hallo {{var:vornahme}}")
    page.click("button:has-text('Speichern')")
    page.wait_for_selector(".flash-error")
    assert "Erste SMS: unbekannter Platzhalter vornahme" in page.inner_text("main form.card")


def test_admin_retries_a_failed_message(page, shot, build, db):
    [message_id] = bulk_messages(
        company(build), 1, state="failed", error_code="send-0010", last_error="Template fehlt"
    )
    admin = make_user("admin", name="Ada Admin")
    log_in(page, admin.email, PASSWORD)
    page.goto("/admin/outbox?state=failed")
    row = page.locator("table.grid tbody tr").first
    assert "send-0010" in row.inner_text() and "Template fehlt" in row.inner_text()
    shot("messaging-02-outbox-failed")
    row.locator("button").click()
    page.wait_for_selector(".flash-success")
    db.session.expire_all()
    # Without Mailjet keys the retried message goes straight to the outbox.
    assert db.session.get(Message, message_id).state == "outbox"


def test_company_page_shows_the_sms_warning_and_preview_note(page, shot, build, db):
    shop = company(build)
    admin = make_user("admin", name="Ada Admin")
    log_in(page, admin.email, PASSWORD)
    page.goto("/admin/companies")
    page.click(f"text={shop.name}")
    page.wait_for_selector("form.card")
    assert page.input_value("input[name=sms_sender]") == "Gartenwelt"
    assert "verbieten die Nutzung des SMS-Dienstes für Werbung" in page.inner_text(".notice")
    assert page.input_value("select[name=sms_provider]") == "mailjet_sms"
    assert "erlaubt Werbe-SMS" in page.inner_text(".provider-usage")
    assert "keine Mailjet-Schlüssel" in page.inner_text(".template-preview")
    page.fill("input[name=sms_sender]", "Garten Welt")
    page.click("button:has-text('Speichern')")
    page.wait_for_selector(".flash-error")
    assert "SMS-Absender: 3 bis 11 Buchstaben oder Ziffern" in page.inner_text("main form.card")
    shot("messaging-03-company")

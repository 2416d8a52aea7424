"""The reorder reminder in the browser: an admin switches it on for a group from the
group's tab, the worker's task decides, and the group's reminders (coming up, sent, not
sent with the reason) and the results page show it – in German and English."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recovery.campaigns.reminders import decide_reminders
from recovery.models import utcnow
from tests.browser.conftest import choose_language, log_in
from tests.campaigns.helpers import REMINDER_TEMPLATE, open_always, shop
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_an_admin_switches_the_reminder_on_and_sees_what_it_did(app, page, shot, build):
    open_always()
    company = shop(build, "Gartenwelt Müller GmbH")
    seeds = build.group("Saatgut")
    now = utcnow()
    anna = build.customer(first_name="Anna", last_name="Berger")
    bernd = build.customer(first_name="Bernd", last_name="Krause")
    clara = build.customer(first_name="Clara", last_name="Lindner")
    build.order(anna, now - timedelta(days=30, hours=1), "84.00", "Saatgut", company)
    build.order(bernd, now - timedelta(days=30, hours=2), "51.00", "Saatgut", company)
    build.order(bernd, now - timedelta(days=3), "19.90", "Dünger", company, state="open")
    build.order(clara, now - timedelta(days=5), "42.00", "Saatgut", company)

    admin = make_user("admin", name="Anja Admin")
    log_in(page, admin.email, PASSWORD)
    page.goto(f"/reconnect/group/{seeds.id}/reachable")
    page.click("nav.tabs >> text=Nachbestell-Erinnerungen")
    assert "Keine Erinnerung für diese Warengruppe" in page.inner_text("main")
    page.click("text=Einstellungen der Erinnerung")
    page.check("input[name=mode][value=after]")
    page.fill("input[name=days_after]", "30")
    page.fill("input[name=email_template_id]", str(REMINDER_TEMPLATE))
    shot("reminder-01-settings-de")
    page.click("button:has-text('Speichern')")
    assert "Nachbestell-Erinnerung für Saatgut gespeichert." in page.inner_text("main")
    assert "30 Tage nach der Bestellung" in page.inner_text("main")

    with app.test_request_context():
        result = decide_reminders()
    assert (result.sent, result.skipped) == (1, {"open_order": 1})

    page.reload()
    row = page.inner_text("table.reminders tbody tr")
    # coming up: Clara's reminder would go out by email as things stand now
    assert "Clara Lindner" in row and "Ja" in row and "E-Mail" in row
    assert "Würde jetzt gesendet" in page.inner_text("table.reminders thead")
    shot("reminder-01b-coming-up-de")
    page.click("nav.tabs >> text=Gesendet")
    assert "Anna Berger" in page.inner_text("table.reminders")
    page.click("nav.tabs >> text=Nicht gesendet")
    row = page.inner_text("table.reminders tbody tr")
    assert "Bernd Krause" in row and "hat einen offenen Auftrag" in row
    shot("reminder-02-not-sent-de")
    page.goto("/reconnect/results")
    row = page.inner_text(f"tr[data-reminder-group='{seeds.id}']")
    assert row.split("\t")[2:4] == ["1", "0"]  # sent, reordered
    shot("reminder-03-results-de")

    choose_language(page, "en")
    page.goto(f"/reconnect/group/{seeds.id}/reminders?show=sent")
    assert "Reorder reminders" in page.inner_text("h1")
    assert "Anna Berger" in page.inner_text("table.reminders")
    shot("reminder-04-sent-en")
    page.goto(f"/reconnect/group/{seeds.id}/reminder")
    shot("reminder-05-settings-en")

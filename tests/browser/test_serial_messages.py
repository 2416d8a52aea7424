"""A serial message in the browser (G4): an admin writes a draft to a group, sees the
preview for three members, sends a test to herself, sends it now; the worker queues one
message per member, the sending loop delivers them (offline: the outbox) and the results
show them – in German and English, at 1366×768."""

from __future__ import annotations

import time

import pytest
from flask import current_app

from recovery.extensions import db
from recovery.messaging.sending_loop import SendingLoop
from recovery.models import ContactGroup, GroupMember, Message
from tests.browser.conftest import choose_language, log_in
from tests.campaigns.helpers import open_always, shop
from tests.conftest import PASSWORD, make_user
from tests.messaging.messaging_fixtures import FAST

pytestmark = pytest.mark.browser


def _seed(build) -> ContactGroup:
    open_always()
    shop(build, "Gartenwelt Müller GmbH")
    group = ContactGroup(name="Stammkunden Garten", active=True)
    db.session.add(group)
    db.session.flush()
    for first, last, salutation in (
        ("Anna", "Schäfer", "ms"),
        ("Bernd", "Krause", "mr"),
        ("Carla", "Lindner", None),
    ):
        customer = build.customer(first_name=first, last_name=last, salutation=salutation)
        db.session.add(GroupMember(group_id=group.id, customer_id=customer.id, source="hand"))
    db.session.commit()
    return group


def _reload_until(page, text: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while text not in page.inner_text("main"):
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never showed")
        time.sleep(0.5)
        page.reload()


def test_a_serial_message_from_draft_to_sent(page, shot, build, worker):
    page.set_viewport_size({"width": 1366, "height": 768})
    group = _seed(build)
    admin = make_user("admin", name="Anja Admin", email="anja@gartenwelt.example")
    log_in(page, admin.email, PASSWORD)

    page.goto("/groups/")
    page.click("text=Seriennachrichten")
    page.click("text=Neue Seriennachricht")
    page.fill("input[name=name]", "Frühjahrsgruß 2027")
    page.select_option("select[name=target]", f"group:{group.id}")
    page.check("input[name=salutation][value=formal]")
    page.fill("input[name=subject]", "Neu im Frühjahr, {{var:vorname}}")
    page.fill("textarea[name=body]", "unser neues Saatgut ist da.\n\nIhr Team der Gartenwelt")
    shot("serial-01-draft-de")
    page.click("button:has-text('Entwurf speichern')")
    page.wait_for_selector(".flash-success")
    previews = page.inner_text(".previews")
    for greeting in (
        "Sehr geehrte Frau Schäfer,",
        "Sehr geehrter Herr Krause,",
        "Guten Tag Carla Lindner,",
    ):
        assert greeting in previews
    assert "Abmelden: https://example.com/abmelden/beispiel" in previews
    shot("serial-02-preview-de")

    page.click("button:has-text('Test an mich senden')")
    page.wait_for_selector("text=Ein Test wurde an anja@gartenwelt.example gesendet.")
    test = db.session.query(Message).filter_by(to_address="anja@gartenwelt.example").one()
    assert test.subject == "[Test] Neu im Frühjahr, Anna"

    page.click("button:has-text('Jetzt an 3 Mitglieder senden')")
    page.wait_for_selector(".flash-success")
    _reload_until(page, "zum Versand eingereiht")  # the worker's job queued them
    SendingLoop(current_app._get_current_object(), FAST).run(once=True)  # offline: outbox
    page.reload()
    results = page.inner_text("main")
    assert "Ergebnisse" in results and "Gesendet\n3" in results
    shot("serial-03-results-de")
    messages = db.session.query(Message).filter(Message.serial_message_id.is_not(None)).all()
    assert sorted(m.state for m in messages) == ["outbox"] * 3

    choose_language(page, "en")
    page.reload()
    assert "queued for sending" in page.inner_text("main")
    shot("serial-04-results-en")
    page.click("text=All serial messages")
    assert "Frühjahrsgruß 2027" in page.inner_text("table")
    shot("serial-05-list-en")

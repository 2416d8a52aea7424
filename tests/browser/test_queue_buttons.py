"""Every button of the case page in the browser, and working a list with the keyboard."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from recovery.models import Case, CaseEvent, Message, utcnow
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser


def _seed(build, count=4):
    company = build.company(
        "Gartenwelt Müller GmbH",
        sender_email="service@gartenwelt.example",
        standard_template_id=6100001,
        voucher_template_id=6100002,
        offer_email="angebote@gartenwelt.example",
    )
    cases = []
    for i in range(count):
        customer = build.customer(last_name=f"Kunde{i}", number=f"K-{100 + i}")
        build.order(customer, utcnow() - timedelta(days=150), "250.00", "Dünger", company)
        cases.append(build.case(customer, company, revenue_at_risk=Decimal(1000 - i)))
    return cases


def _open_first(page):
    page.goto("/list/decline")
    page.click("a.case-link >> nth=0")
    page.wait_for_selector(".case-head")


def test_every_button(page, shot, build, db):
    cases = _seed(build)
    sales = make_user("sales", name="Sven Sales")
    log_in(page, sales.email, PASSWORD)

    _open_first(page)  # K-100
    page.fill("textarea[name=text][placeholder^='Was soll']", "20 Sack Dünger, Staffelpreis")
    page.click("button:has-text('Angebot erstellen')")
    page.wait_for_selector(".flash-success")
    assert "Angebot angefordert" in page.inner_text(".meta")
    shot("buttons-01-offer")

    page.keyboard.press("n")  # next customer: K-101
    page.wait_for_url("**/case/*")
    assert "K-101" in page.inner_text("h1")
    page.select_option("select[name=days]", "30")
    page.click("button:has-text('Erinnern')")
    page.wait_for_selector(".flash-success")
    assert "Erinnerung" in page.inner_text(".meta")

    page.click("#next-customer")  # K-102
    page.wait_for_selector(".case-head")
    assert "K-102" in page.inner_text("h1")
    page.fill("textarea[placeholder^='Grund']", "Betrieb aufgegeben")
    page.click("button:has-text('Kein Interesse')")
    page.wait_for_selector(".flash-success")
    assert "Kein Interesse" in page.inner_text(".meta")
    shot("buttons-02-no-interest")

    page.click("#next-customer")  # K-103
    page.wait_for_selector(".case-head")
    page.dblclick("button:has-text('E-Mail senden')")  # a double click sends once
    page.wait_for_selector(".flash-success")
    page.click("#next-customer")
    page.wait_for_selector(".flash-info")
    assert "letzte Kunde" in page.inner_text(".flash-info")
    shot("buttons-03-end-of-list")

    db.session.expire_all()
    statuses = [db.session.get(Case, c.id).status for c in cases]
    assert statuses == ["offer_requested", "reminder", "no_interest", "contacted"]
    assert db.session.query(Message).filter_by(purpose="queue").count() == 1
    assert db.session.query(Message).filter_by(purpose="offer").count() == 1
    kinds = {e.kind for e in db.session.query(CaseEvent).filter_by(user_id=sales.id)}
    assert kinds == {"offer", "remind", "no_interest", "email"}

    page.goto("/")
    tiles = {
        t: page.inner_text(f".tile-{t} .tile-count")
        for t in ("decline", "reminders", "contacted", "offer", "no_interest")
    }
    assert tiles == {"decline": "0", "reminders": "0", "contacted": "1", "offer": "1",
                     "no_interest": "1"}  # fmt: skip
    shot("buttons-04-tiles")


def test_language_switch_shows_english(page, build, db):
    _seed(build, 1)
    sales = make_user("sales")
    log_in(page, sales.email, PASSWORD)
    page.click("button[title=English]")
    page.wait_for_selector("text=Revenue decline")
    page.goto("/list/decline?sort=name")
    assert page.is_visible("text=Customer no.") and "Revenue at risk" in page.inner_text("thead")
    page.screenshot(path="tests/browser/screenshots/list-en.png", full_page=True)
    _open_first(page)
    assert page.is_visible("text=Next customer")
    page.screenshot(path="tests/browser/screenshots/case-en.png", full_page=True)


def test_twenty_customers_in_a_row_with_keyboard_and_mouse(page, shot, build, db):
    """The day's work: 20 customers, each acted on and left with N or the button, no
    page reloaded by hand; E and R by keyboard, the others with the mouse."""
    cases = _seed(build, 20)
    sales = make_user("sales", name="Sven Sales")
    log_in(page, sales.email, PASSWORD)
    _open_first(page)
    expected = []
    for i in range(20):
        page.wait_for_selector(".case-head")
        # the keys work once app.js (deferred) has run: a key pressed before is lost
        page.wait_for_load_state("domcontentloaded")
        assert f"K-{100 + i}" in page.inner_text("h1")  # the list's order: most at risk first
        if i % 4 == 0:
            page.keyboard.press("e")  # send the standard email
            expected.append("contacted")
        elif i % 4 == 1:
            page.keyboard.press("r")  # remind in the preset 10 days
            expected.append("reminder")
        elif i % 4 == 2:
            page.click("button:has-text('Kein Interesse')")
            expected.append("no_interest")
        else:
            page.fill("textarea[placeholder='Notiz']", f"Angerufen, Kunde {i}")
            page.click("button:has-text('Notiz speichern')")
            expected.append("new")  # a note leaves the case in the list
        page.wait_for_selector(".flash-success")
        page.wait_for_load_state("domcontentloaded")
        # wait for the next page itself: the old one has a .case-head too
        with page.expect_navigation():
            if i % 2:
                page.click("#next-customer")
            else:
                page.keyboard.press("n")
    page.wait_for_selector(".flash-info")
    assert "letzte Kunde" in page.inner_text(".flash-info")

    db.session.expire_all()
    assert [db.session.get(Case, c.id).status for c in cases] == expected
    assert db.session.query(Message).filter_by(purpose="queue").count() == 5
    notes = db.session.query(CaseEvent).filter_by(kind="note", user_id=sales.id).count()
    assert notes == 5
    remind = db.session.get(Case, cases[1].id).remind_at
    assert timedelta(days=9) < remind - utcnow() <= timedelta(days=10)


def test_every_shortcut_is_named_on_its_button_and_in_the_help(page, shot, build, db):
    _seed(build, count=1)
    sales = make_user("sales", name="Sven Sales")
    log_in(page, sales.email, PASSWORD)
    _open_first(page)
    for selector in ("[data-shortcut=n]", "[data-shortcut=e]", "[data-shortcut=r]"):
        key = selector[-2].upper()
        assert page.get_attribute(selector, "title") == f"Tastenkürzel: {key}"
    assert not page.is_visible("#shortcut-help")
    page.keyboard.press("?")
    page.wait_for_selector("#shortcut-help[open]")
    help_text = page.inner_text("#shortcut-help")
    for line in ("N\nNächster Kunde", "E\nE-Mail senden", "R\nErinnern"):
        assert line in help_text, help_text
    shot("buttons-06-shortcuts")
    page.keyboard.press("Escape")
    assert not page.is_visible("#shortcut-help")

"""A salesperson's whole working hour (issue 16, "Tests"): 20 customers worked with the
keyboard – E email, R remind (some for tomorrow), no interest and then undo, an offer, a
note, N next – then tomorrow's reminders on "Meine Wiedervorlagen", and an admin takes
over a case the salesperson has started. Screenshots in German and English."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest

from recovery.models import Case, CaseEvent, Message, business_tz, utcnow
from tests.browser.conftest import SHOTS, log_in
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser

COUNT = 20


def _seed(build):
    company = build.company(
        "Gartenwelt Müller GmbH",
        sender_email="service@gartenwelt.example",
        standard_template_id=6100001,
        voucher_template_id=6100002,
        offer_email="angebote@gartenwelt.example",
    )
    cases = []
    for i in range(COUNT):
        customer = build.customer(
            first_name="Kim", last_name=f"Kunde{i:02d}", number=f"K-{100 + i}"
        )
        build.order(customer, utcnow() - timedelta(days=150), "250.00", "Dünger", company)
        cases.append(build.case(customer, company, revenue_at_risk=Decimal(5000 - i)))
    return cases


def _press_on(page, selector: str) -> None:
    """Go to a button with the keyboard and press Enter on it."""
    page.focus(selector)
    page.keyboard.press("Enter")


def _type_into(page, selector: str, text: str) -> None:
    page.focus(selector)
    page.keyboard.type(text)


def _ready(page) -> None:
    """The case page is there and its script runs (a key pressed before is lost)."""
    page.wait_for_selector(".case-head")
    page.wait_for_load_state("domcontentloaded")


def _wait_for(check, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the server's state")
        time.sleep(0.1)


def test_a_salespersons_working_hour(browser, live_server, page, shot, build, db):
    cases = _seed(build)
    sales = make_user("sales", name="Sven Sales")
    admin = make_user("admin", name="Anna Admin")
    log_in(page, sales.email, PASSWORD)
    page.goto("/list/decline")
    page.click("a.case-link >> nth=0")

    expected, tomorrow_ids, undone = [], [], []
    for i in range(COUNT):
        _ready(page)
        assert f"K-{100 + i}" in page.inner_text("h1")  # most at risk first
        step = i % 5
        if step == 0:
            page.keyboard.press("e")  # the standard email
            expected.append("contacted")
        elif step == 1:
            if i % 2:  # every other reminder comes back tomorrow
                page.focus("select[name=days]")
                page.select_option("select[name=days]", "1")
                tomorrow_ids.append(cases[i].id)
            page.keyboard.press("Escape")  # out of the field, so the key is a shortcut
            page.evaluate("document.activeElement.blur()")
            page.keyboard.press("r")
            expected.append("reminder")
        elif step == 2:
            _press_on(page, "button:has-text('Kein Interesse')")
            page.wait_for_selector(".undo")
            assert "Kein Interesse" in page.inner_text(".meta")
            if i == 2:
                shot("hour-01-no-interest-undo")
            _press_on(page, ".undo button")  # changed my mind
            page.wait_for_selector(".flash-success:has-text('wieder offen')")
            expected.append("new")
            undone.append(cases[i].id)
        elif step == 3:
            _type_into(page, "textarea[placeholder^='Was soll']", "20 Sack Dünger, Staffelpreis")
            _press_on(page, "button:has-text('Angebot erstellen')")
            expected.append("offer_requested")
        else:
            _type_into(page, "textarea[placeholder='Notiz']", f"Angerufen, Kunde {i}")
            _press_on(page, "button:has-text('Notiz speichern')")
            expected.append("new")
        page.wait_for_selector(".flash-success")
        page.wait_for_load_state("domcontentloaded")
        if i == 0:
            shot("hour-02-email-sent")
        with page.expect_navigation():
            page.keyboard.press("n")
    page.wait_for_selector(".flash-info")
    assert "letzte Kunde" in page.inner_text(".flash-info")

    db.session.expire_all()
    assert [db.session.get(Case, c.id).status for c in cases] == expected
    assert db.session.query(Message).filter_by(purpose="queue").count() == 4
    assert db.session.query(Message).filter_by(purpose="offer").count() == 4
    kinds = [e.kind for e in db.session.query(CaseEvent).filter_by(case_id=undone[0])]
    assert kinds == ["no_interest", "reopened"], kinds
    assert all(db.session.get(Case, c.id).claimed_by_id is None for c in cases)

    # tomorrow's reminders on "Meine Wiedervorlagen", reached from the tiles
    page.goto("/")
    page.click("a:has-text('Meine Wiedervorlagen')")
    page.wait_for_selector("h1:has-text('Meine Wiedervorlagen')")
    tomorrow = (utcnow().astimezone(business_tz()) + timedelta(days=1)).date()
    heading = "Morgen · " + tomorrow.strftime("%d.%m.%Y")
    day_card = page.locator(".reminder-day", has_text=heading)
    assert day_card.count() == 1, page.inner_text("main")
    numbers = day_card.locator("a.case-link").all_inner_texts()
    assert sorted(numbers) == sorted(
        f"K-{100 + cases.index(next(c for c in cases if c.id == cid))}" for cid in tomorrow_ids
    )
    assert page.locator(".reminder-day a.case-link").count() == 4  # all four reminders
    shot("hour-03-reminders-de")
    page.click("button[title=English]")
    page.wait_for_selector("h1:has-text('My reminders')")
    assert page.locator(".reminder-day h2", has_text="Tomorrow · ").count() == 1
    shot("hour-04-reminders-en")
    page.click("button[title=Deutsch]")
    page.wait_for_selector("h1:has-text('Meine Wiedervorlagen')")

    # Sven starts on a case again; Anna (admin) takes it over with one click
    case = cases[4]
    page.goto(f"/case/{case.id}?list=decline")
    _ready(page)
    _type_into(page, "textarea[placeholder='Notiz']", "Rückruf um 15 Uhr")

    def claimed_by():
        db.session.expire_all()
        return db.session.get(Case, case.id).claimed_by_id

    _wait_for(lambda: claimed_by() == sales.id)
    context = browser.new_context(
        base_url=live_server, locale="de-DE", viewport={"width": 1366, "height": 768}
    )
    try:
        other = context.new_page()
        other.set_default_timeout(10_000)
        log_in(other, admin.email, PASSWORD)
        other.goto(f"/case/{case.id}?list=decline")
        other.wait_for_selector(".takeover")
        assert "Sven Sales bearbeitet diesen Fall gerade" in other.inner_text(".takeover")
        other.screenshot(path=str(SHOTS / "hour-05-admin-sees-claim-de.png"), full_page=True)
        other.click(".takeover button")
        other.wait_for_selector(".flash-success")
        assert "hat den Fall von Sven Sales übernommen" in other.inner_text("body")
        assert claimed_by() == admin.id
        other.screenshot(path=str(SHOTS / "hour-06-taken-over-de.png"), full_page=True)
        other.click("button[title=English]")
        other.wait_for_selector("text=took over the case from Sven Sales")
        other.screenshot(path=str(SHOTS / "hour-07-taken-over-en.png"), full_page=True)
        # Sven's note is refused now, with the reason
        _press_on(page, "button:has-text('Notiz speichern')")
        page.wait_for_selector(".flash-error")
        assert "Anna Admin bearbeitet diesen Fall gerade" in page.inner_text(".flash-error")
        # what he had typed is not lost: it is back in its field, to copy or keep
        assert page.input_value("textarea[placeholder='Notiz']") == "Rückruf um 15 Uhr"
        shot("hour-08-sven-after-takeover-de")
    finally:
        context.close()
    event = db.session.query(CaseEvent).filter_by(case_id=case.id, kind="takeover").one()
    assert (event.user_id, event.data["from_user_id"]) == (admin.id, sales.id)

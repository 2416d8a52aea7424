"""Two people on one case in two browsers (issue 16 item 2): looking shows "X is looking
at this case" to the other, starting an action claims, the other can take it over, and
leaving the page (not the page's own forms) releases the claim."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from recovery.models import Case, CaseViewer, utcnow
from tests.browser.conftest import SHOTS, log_in
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser


def _wait_for(check, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the server's state")
        time.sleep(0.1)


def _claimed_by(db, case_id: int):
    db.session.expire_all()
    return db.session.get(Case, case_id).claimed_by_id


def _open_case(page, case_id: int) -> None:
    """Open the case page and wait for its first heartbeat to be answered."""
    with page.expect_response(lambda r: r.url.endswith(f"/case/{case_id}/here")):
        page.goto(f"/case/{case_id}?list=decline")


def test_two_people_on_one_case(browser, live_server, page, build, db):
    company = build.company("Gartenwelt Müller GmbH", standard_template_id=6100001)
    customer = build.customer(last_name="Kunde", number="K-100")
    build.order(customer, utcnow() - timedelta(days=150), "250.00", "Dünger", company)
    case = build.case(customer, company)
    sales = make_user("sales", name="Sven Sales")
    admin = make_user("admin", name="Anna Admin")

    log_in(page, sales.email, PASSWORD)
    _open_case(page, case.id)
    assert page.is_hidden("#case-viewers")  # nobody else is here

    other_context = browser.new_context(
        base_url=live_server, locale="de-DE", viewport={"width": 1366, "height": 768}
    )
    try:
        other = other_context.new_page()
        other.set_default_timeout(10_000)
        log_in(other, admin.email, PASSWORD)
        _open_case(other, case.id)
        # the admin sees Sven looking, and no claim: every button works
        assert other.inner_text("#case-viewers") == "Sven Sales sieht sich diesen Fall gerade an."
        assert other.locator(".takeover").count() == 0
        assert _claimed_by(db, case.id) is None
        # Sven's page learns of Anna with its next heartbeat (here: the page shown again)
        with page.expect_response(lambda r: r.url.endswith("/here")):
            page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        page.wait_for_selector("#case-viewers:has-text('Anna Admin sieht sich')")
        page.screenshot(path=str(SHOTS / "presence-01-looking.png"), full_page=True)

        # Sven starts an action: the case is his; a note keeps it (his own form does
        # not release it on the way out)
        page.fill("textarea[placeholder='Notiz']", "Angerufen, ruft zurück")
        _wait_for(lambda: _claimed_by(db, case.id) == sales.id)
        page.click("button:has-text('Notiz speichern')")
        page.wait_for_selector(".flash-success")
        time.sleep(0.5)  # a wrongly sent beacon would have arrived by now
        assert _claimed_by(db, case.id) == sales.id

        other.reload()
        other.wait_for_selector(".takeover")
        assert "Sven Sales bearbeitet diesen Fall gerade" in other.inner_text(".takeover")
        assert other.is_hidden("#case-viewers")  # the holder's banner says it already
        other.screenshot(path=str(SHOTS / "presence-02-claimed.png"), full_page=True)

        # Sven goes to the list: the beacon releases his claim and his presence
        page.goto("/list/decline")
        _wait_for(lambda: _claimed_by(db, case.id) is None)
        db.session.expire_all()
        assert db.session.get(CaseViewer, (case.id, sales.id)) is None
        other.reload()
        other.wait_for_selector(".case-head")
        assert other.locator(".takeover").count() == 0
        assert other.is_hidden("#case-viewers")

        # Sven comes back and starts again; Anna takes the case over with one click
        _open_case(page, case.id)
        page.fill("textarea[placeholder='Notiz']", "x")
        _wait_for(lambda: _claimed_by(db, case.id) == sales.id)
        other.reload()
        other.click(".takeover button")
        other.wait_for_selector(".flash-success")
        assert "hat den Fall von Sven Sales übernommen" in other.inner_text("body")
        assert _claimed_by(db, case.id) == admin.id
        other.screenshot(path=str(SHOTS / "presence-03-taken-over.png"), full_page=True)
        # Sven leaving now releases nothing of Anna's
        page.goto("/list/decline")
        time.sleep(0.5)
        assert _claimed_by(db, case.id) == admin.id
    finally:
        other_context.close()

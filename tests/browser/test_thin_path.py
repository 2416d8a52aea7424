"""Thin path in the browser: log in as sales, list, case, note, email, outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recovery.models import CaseEvent, Message, utcnow
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser


def _seed(build):
    company = build.company(
        "Gartenwelt Müller GmbH",
        sender_email="service@gartenwelt.example",
        sender_name="Gartenwelt",
        standard_template_id=6100001,
        voucher_template_id=6100002,
    )
    customer = build.customer(first_name="Erika", last_name="Mustermann", number="K-4711")
    now = utcnow()
    for days, net in ((700, "950.00"), (500, "1200.00"), (380, "800.00"), (120, "140.00")):
        build.order(customer, now - timedelta(days=days), net, "Dünger", company)
    other = build.customer(last_name="Zweitkunde")
    build.order(other, now - timedelta(days=200), "99.00", "Saatgut", company)
    return build.case(customer, company), build.case(other, company, revenue_at_risk=10)


def test_sales_walks_the_thin_path(page, shot, build, db):
    case, _ = _seed(build)
    sales = make_user("sales", name="Sven Sales")
    log_in(page, sales.email, PASSWORD)
    page.wait_for_selector(".tiles")
    assert page.locator(".tile-decline .tile-count").inner_text() == "2"
    shot("01-home")

    page.click(".tile-decline")
    page.wait_for_selector("table.grid")
    rows = page.locator("table.grid tbody tr")
    assert rows.count() == 2
    assert "K-4711" in rows.nth(0).inner_text()  # highest revenue at risk first
    shot("02-list")

    page.click("text=K-4711")
    page.wait_for_selector(".case-head")
    assert "Erika Mustermann" in page.inner_text("h1")
    assert "Umsatz 4.200 €" in page.inner_text(".reason-text")
    shot("03-case")

    page.fill("textarea[name=text][placeholder=Notiz]", "Kundin ruft Montag zurück")
    page.click("text=Notiz speichern")
    page.wait_for_selector(".flash-success")
    assert "Kundin ruft Montag zurück" in page.inner_text("#notes")
    assert "Sven Sales" in page.inner_text("#notes")

    page.select_option("select[name=template_kind]", "voucher")
    page.click("button:has-text('E-Mail senden')")
    page.wait_for_selector(".flash-success")
    assert "E-Mail zum Versand vorgemerkt" in page.inner_text(".flash-success")
    assert "Kontaktiert" in page.inner_text(".meta")
    shot("04-after-email")

    db.session.expire_all()
    message = db.session.query(Message).one()
    assert message.state == "outbox" and message.template_id == 6100002
    assert message.variables["vorname"] == "Erika"
    assert db.session.query(CaseEvent).filter_by(case_id=case.id).count() == 2

    page.click("#next-customer")
    page.wait_for_selector(".case-head")
    assert "Zweitkunde" in page.inner_text("h1")

    page.click("text=Abmelden")
    admin = make_user("admin", name="Anna Admin")
    log_in(page, admin.email, PASSWORD)
    page.goto("/admin/outbox")
    table = page.inner_text("table.grid")
    assert "Erika Mustermann" in table and "voucher #6100002" in table
    shot("05-outbox")

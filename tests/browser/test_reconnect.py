"""ReConnect in the browser: an admin switches a group on and contacts it, the worker
queues the first messages, a salesperson opens a row from a tab (German and English)."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest

from recovery.extensions import db
from recovery.models import DoNotContact, Message, ReconnectContact, utcnow
from recovery.models.message import GroupMessageTexts
from tests.browser.conftest import choose_language, log_in
from tests.campaigns.helpers import FIRST_TEMPLATE, open_always, overdue, shop
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser


def _seed(build):
    open_always()
    company = shop(build, "Gartenwelt Müller GmbH", channel_preference="sms_else_email")
    seeds, fertiliser = build.group("Saatgut"), build.group("Dünger")
    db.session.add(
        GroupMessageTexts(
            product_group_id=seeds.id,
            first_email_template_id=FIRST_TEMPLATE,
            first_sms_text="Hallo {{var:vorname}}, Zeit für neues Saatgut?",
        )
    )
    people = [
        ("Anna", "Berger", "0171 1234567", "1.240,00"),
        ("Bernd", "Krause", None, "880,00"),
        ("Carla", "Lindner", None, "430,00"),
    ]
    for first, last, mobile, risk in people:
        case = overdue(
            build,
            company,
            seeds,
            risk=risk.replace(".", "").replace(",", "."),
            first_name=first,
            last_name=last,
            mobile=mobile,
        )
        case.expected_next_order = utcnow() - timedelta(days=30)
        case.last_order_at = utcnow() - timedelta(days=95)
    overdue(build, company, seeds, first_name="Dieter", last_name="Ohnemail", email=None)
    gone = overdue(build, company, seeds, first_name="Eva", last_name="Abgemeldet")
    db.session.add(
        DoNotContact(customer_id=gone.customer_id, channel="email", reason="unsubscribed")
    )
    back = overdue(build, company, fertiliser, first_name="Frank", last_name="Zurück")
    db.session.add(
        ReconnectContact(
            case_id=back.id,
            customer_id=back.customer_id,
            product_group_id=fertiliser.id,
            company_id=company.id,
            first_sent_at=utcnow() - timedelta(days=40),
            first_channels="email",
            followup_at=utcnow() - timedelta(days=26),
            reconnected_at=utcnow() - timedelta(days=20),
            reconnected_revenue=Decimal("312.50"),
        )
    )
    overdue(build, company, fertiliser, first_name="Gisela", last_name="Hahn")
    db.session.commit()
    return seeds


def _reload_until(page, selector: str, text: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while text not in page.inner_text(selector):
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never showed in {selector}")
        time.sleep(0.5)
        page.reload()


def test_switch_on_contact_a_group_and_open_a_row(page, shot, build, worker):
    seeds = _seed(build)
    admin = make_user("admin", name="Anja Admin")
    log_in(page, admin.email, PASSWORD)

    page.goto("/reconnect/")
    row = f"tr[data-group='{seeds.id}']"
    assert page.inner_text(f"{row} td >> nth=1") == "aus"
    page.click(f"{row} >> text=Einstellungen")
    page.check("input[name=enabled]")
    page.fill("input[name=followup_delay_days]", "10")
    page.click("button:has-text('Speichern')")
    page.wait_for_selector(".flash-success")
    assert page.inner_text(f"{row} td >> nth=1") == "an"
    assert page.inner_text(f"{row} td >> nth=3") == "3"  # reachable
    shot("reconnect-01-overview-de")

    page.click(f"{row} >> text=Überfällige Kunden kontaktieren")
    assert "3 Kunden erhalten die erste Nachricht." in page.inner_text("main")
    shot("reconnect-02-confirm-de")
    page.click("button:has-text('Jetzt senden')")
    page.wait_for_selector(".flash-success")
    _reload_until(page, f"{row} td >> nth=5", "3")  # first messages sent, by the worker
    shot("reconnect-03-overview-after-de")
    channels = sorted(m.channel for m in db.session.query(Message).all())
    assert channels == ["email", "email", "sms"]  # SMS if possible, otherwise email

    page.click(f"{row} td >> nth=4 >> a")  # not reachable
    text = page.inner_text("table.reconnect-tab")
    assert "E-Mail: abgemeldet" in text and "E-Mail: keine E-Mail-Adresse" in text
    shot("reconnect-04-tab-unreachable-de")

    page.click("nav.tabs >> text=Erste Nachricht gesendet")
    assert "Berger" in page.inner_text("table.reconnect-tab")
    shot("reconnect-05-tab-first-de")

    page.context.clear_cookies()
    sales = make_user("sales", name="Sven Sales")
    log_in(page, sales.email, PASSWORD)
    page.goto(f"/reconnect/group/{seeds.id}/first")
    page.click("tr:has-text('Berger') a.case-link")
    page.wait_for_selector(".case-head")
    assert "ReConnect: erste Nachricht eingeplant" in page.inner_text("main")
    shot("reconnect-06-case-history-de")

    choose_language(page, "en")
    page.goto("/reconnect/")
    assert page.inner_text(f"{row} td >> nth=1") == "on"
    shot("reconnect-07-overview-en")


def test_results_page_shows_the_chart_and_the_uplift(page, shot, build):
    """Three months of contacts and a not-contacted comparison; the page in German and
    English, its month labels apart from each other."""
    company = shop(build, "Gartenwelt Müller GmbH")
    seeds = build.group("Saatgut")
    now = utcnow()
    for days, back in ((80, 70), (60, None), (45, 40), (30, None), (20, 12), (5, None)):
        case = overdue(build, company, seeds)
        db.session.add(
            ReconnectContact(
                case_id=case.id,
                customer_id=case.customer_id,
                product_group_id=seeds.id,
                company_id=company.id,
                first_sent_at=now - timedelta(days=days),
                first_channels="email",
                reconnected_at=now - timedelta(days=back) if back else None,
                reconnected_revenue=Decimal("120.00") if back else None,
            )
        )
    for n in range(4):  # not reachable, one of them ordered again
        case = overdue(build, company, seeds, email=None)
        case.opened_at = now - timedelta(days=50)
        if n == 0:
            build.order(case.customer, now - timedelta(days=30), "90.00", "Saatgut")
    db.session.commit()
    admin = make_user("admin", name="Anja Admin")
    log_in(page, admin.email, PASSWORD)
    page.goto("/reconnect/")
    page.click("text=Ergebnisse")
    page.wait_for_selector("svg.results-chart")
    row = page.inner_text(f"tr[data-group='{seeds.id}']")
    assert "50,0 %" in row and "25,0 %" in row and "+25,0 Pp." in row
    labels = page.locator("svg.results-chart text:not(.revenue)")
    boxes = [
        labels.nth(i).bounding_box()
        for i in range(labels.count())
        if labels.nth(i).get_attribute("y") == "158"
    ]
    assert len(boxes) >= 3
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert left["x"] + left["width"] < right["x"]  # month labels do not overlap
    assert all(b["height"] >= 12 for b in boxes)
    shot("reconnect-08-results-de")
    choose_language(page, "en")
    page.goto("/reconnect/results")
    assert "ReConnect results" in page.inner_text("h1")
    shot("reconnect-09-results-en")

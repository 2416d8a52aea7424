"""Issue 15 (G1, G3, G5) in the browser: an admin builds a group by rule, counts the
matching customers before saving (a form post, no script), saves and sees the members;
the case page shows the group, a member's name leads to their case; every customer of a
queue list goes into a group at once; the pages in German and English at 1366×768."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from recovery.models import ContactGroup, GroupMember, utcnow
from tests.browser.conftest import choose_language, log_in
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_a_group_by_rule_with_its_preview_count_and_members(page, shot, build):
    page.set_viewport_size({"width": 1366, "height": 768})
    now = utcnow()
    company = build.company("Gartenwelt Müller GmbH")
    people = {}
    for last, country, group, net in (
        ("Köhler", "AT", "Händler", "1800.00"),
        ("Brünner", "AT", "Händler", "2400.00"),
        ("Zürcher", "CH", "Händler", "3100.00"),
        ("Schäfer", "AT", "Endkunde", "2500.00"),
        ("Weiß", "AT", "Händler", "90.00"),
    ):
        customer = build.customer(last_name=last, country=country, customer_group=group)
        build.order(customer, now - timedelta(days=40), net, "Saatgut", company)
        people[last] = customer
    case = build.case(people["Köhler"], company)
    admin = make_user("admin", name="Anja Admin")
    log_in(page, admin.email, PASSWORD)

    page.goto("/groups/")
    page.click("text=Neue Gruppe")
    page.fill("input[name=name]", "Händler in Österreich")
    page.fill("textarea[name=description]", "Für die Frühjahrsaktion")
    page.select_option("select[name=customer_group]", ["Händler"])
    page.select_option("select[name=country]", ["AT"])
    page.fill("input[name=revenue_min]", "1.000,00")
    page.click("button[name=preview]")
    assert page.inner_text(".preview-count") == "2 Kunden passen jetzt zu diesen Regeln."
    assert page.input_value("input[name=revenue_min]") == "1.000,00"  # kept for the next step
    shot("groups-01-editor-preview-de")
    page.click("button[name=save]")
    assert "ist gespeichert" in page.inner_text(".flash")
    members = page.inner_text("table.group-members")
    assert "Köhler" in members and "Brünner" in members
    for other in ("Zürcher", "Schäfer", "Weiß"):
        assert other not in members
    assert "per Regel" in members
    facts = page.inner_text(".group-facts")
    assert (
        "Land: Österreich" in facts
        and "Nettoumsatz der letzten 12 Monate: mindestens 1.000,00\xa0€" in facts
    )
    shot("groups-02-members-de")
    assert page.locator("table.group-members a:has-text('Brünner')").count() == 0  # no case
    page.click("table.group-members a:has-text('Köhler')")  # the member's case page
    page.wait_for_url(f"**/case/{case.id}")
    assert "Köhler" in page.inner_text("main")

    page.goto("/groups/")
    row = page.inner_text("table.contact-groups tr:has-text('Händler in Österreich')")
    assert "2" in row and "Kundengruppe aus der WaWi: Händler" in row
    assert "Kundengruppen aus der WaWi" in page.inner_text("main")
    shot("groups-03-list-de")

    page.goto(f"/case/{case.id}")
    box = page.inner_text("#groups")
    assert "Händler in Österreich" in box and "per Regel" in box
    shot("groups-04-case-box-de")

    choose_language(page, "en")
    page.goto("/groups/")
    assert "Customer groups from the WaWi" in page.inner_text("main")
    shot("groups-05-list-en")
    page.click("text=Händler in Österreich")
    assert "by rule" in page.inner_text("table.group-members")
    shot("groups-06-members-en")
    page.click("text=Edit group")
    page.click("button[name=preview]")
    assert page.inner_text(".preview-count") == "2 customers match these rules now."
    shot("groups-07-editor-en")


def test_every_customer_of_a_queue_list_goes_into_a_group_at_once(page, shot, build, db):
    page.set_viewport_size({"width": 1366, "height": 768})
    group = ContactGroup(name="Frühjahrsaktion")
    db.session.add(group)
    db.session.commit()
    for n in range(55):  # more than one page of 50
        build.case(build.customer(last_name=f"Kunde{n:02d}"))
    admin = make_user("admin", name="Anja Admin")
    log_in(page, admin.email, PASSWORD)
    page.goto("/list/decline")
    bar = page.locator(".list-select")
    assert "oder alle 55 dieser Liste, auf allen Seiten" in bar.inner_text()
    page.check("input[name=all_matching]")
    shot("groups-08-queue-all-de")
    bar.locator("button:has-text('Zur Gruppe hinzufügen')").click()
    assert "55 Kunden zur Gruppe „Frühjahrsaktion“ hinzugefügt." in page.inner_text(".flash")
    db.session.expire_all()
    assert len(db.session.scalars(select(GroupMember)).all()) == 55
    choose_language(page, "en")
    page.goto("/list/decline")
    assert "or all 55 of this list, on every page" in page.inner_text(".list-select")
    shot("groups-09-queue-all-en")

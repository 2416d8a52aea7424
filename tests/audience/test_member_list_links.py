"""The member list links each member to their case page (issue 15); a member without one
(a sign-up contact, a customer never flagged) is plain text. A queue list's selection
can add every customer of the list – all pages, as filtered – to a group."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import select

from recovery.models import ContactGroup, GroupMember, utcnow
from tests.conftest import csrf_from, utc


def _group(db, name="Stammkunden", active=True) -> ContactGroup:
    group = ContactGroup(name=name, active=active)
    db.session.add(group)
    db.session.commit()
    return group


def _add(db, group, *customers):
    for customer in customers:
        db.session.add(GroupMember(group_id=group.id, customer_id=customer.id, source="hand"))
    db.session.commit()


def _members(db, group) -> set[int]:
    db.session.expire_all()
    return set(
        db.session.scalars(select(GroupMember.customer_id).where(GroupMember.group_id == group.id))
    )


def _links(html: str) -> dict[str, str]:
    """Row text -> the case page it links to, for the member table's name cells."""
    table = html.split('class="grid group-members"')[1].split("</table>")[0]
    return {
        unescape(name): href
        for href, name in re.findall(r'<td><a href="(/case/\d+)">([^<]+)</a></td>', table)
    }


def test_each_member_links_to_their_case_and_a_contact_is_plain_text(client, login_as, build, db):
    login_as("sales")
    group = _group(db)
    ahorn, birke = build.customer(last_name="Ahorn"), build.customer(last_name="Birke")
    contact = build.customer(source="newsletter", first_name="Neu", last_name="Kontakt")
    ahorn_case = build.case(ahorn)
    build.case(birke, status="recovered", closed_at=utc(2026, 3, 1), opened_at=utc(2026, 2, 1))
    birke_open = build.case(
        birke, key="overdue:1", kind="overdue", opened_at=utc(2026, 1, 1)
    )  # older, but open: the one to work on
    _add(db, group, ahorn, birke, contact)
    html = client.get(f"/groups/{group.id}").get_data(as_text=True)
    assert _links(html) == {
        "Erika Ahorn": f"/case/{ahorn_case.id}",
        "Erika Birke": f"/case/{birke_open.id}",
    }
    assert "<td>Neu Kontakt</td>" in html  # no case page: plain text
    page = client.get(_links(html)["Erika Ahorn"])
    assert page.status_code == 200 and "Ahorn" in page.get_data(as_text=True)


def test_a_restricted_user_gets_no_link_to_another_companys_case(client, login_as, build, db):
    north, south = build.company("Nordhof GmbH"), build.company("Südfeld KG")
    group = _group(db)
    both = build.customer(last_name="Beidseits")
    build.order(both, utcnow() - timedelta(days=10), company=north)  # visible to north
    build.case(both, south)  # but the case is south's
    _add(db, group, both)
    login_as("sales", company_id=north.id)
    html = client.get(f"/groups/{group.id}").get_data(as_text=True)
    assert "Beidseits" in html and _links(html) == {}


def _list_form(client, url: str) -> dict[str, str]:
    html = client.get(url).get_data(as_text=True)
    form = html.split('id="select-form"')[1].split("<table")[0]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    return {k: unescape(v) for k, v in fields.items()} | {"csrf_token": csrf_from(html)}


def test_all_matching_adds_every_customer_of_the_filtered_list_on_every_page(
    client, login_as, build, db
):
    login_as("sales")
    group = _group(db)
    dealers = [build.customer(customer_group="Händler") for _ in range(55)]
    others = [build.customer(customer_group="Endkunde") for _ in range(5)]
    for customer in dealers + others:
        build.case(customer)
    _add(db, group, dealers[0])  # a member already
    url = "/list/decline?customer_group=H%C3%A4ndler&sort=number"
    fields = _list_form(client, url)
    assert fields["list"] == "decline" and "customer_group=H%C3%A4ndler" in fields["list_args"]
    page = client.get(url).get_data(as_text=True)
    assert "oder alle 55 dieser Liste, auf allen Seiten" in page
    assert page.count('name="customer_id"') == 50  # one page of 50 shows
    done = client.post(
        "/groups/members",
        data={**fields, "group_id": group.id, "all_matching": "1"},
        follow_redirects=True,
    )
    assert "54 Kunden zur Gruppe „Stammkunden“ hinzugefügt." in unescape(
        done.get_data(as_text=True)
    )
    assert _members(db, group) == {c.id for c in dealers}


def test_without_all_matching_only_the_ticked_customers_are_added(client, login_as, build, db):
    login_as("sales")
    group = _group(db)
    customers = [build.customer() for _ in range(3)]
    for customer in customers:
        build.case(customer)
    fields = _list_form(client, "/list/decline")
    client.post(
        "/groups/members", data={**fields, "group_id": group.id, "customer_id": [customers[1].id]}
    )
    assert _members(db, group) == {customers[1].id}


def test_all_matching_sees_only_the_restricted_users_cases(client, login_as, build, db):
    north, south = build.company("Nordhof GmbH"), build.company("Südfeld KG")
    group = _group(db)
    mine, theirs = build.customer(), build.customer()
    for customer, company in ((mine, north), (theirs, south)):
        build.order(customer, utcnow() - timedelta(days=10), company=company)
        build.case(customer, company)
    login_as("sales", company_id=north.id)
    fields = _list_form(client, "/list/decline")
    client.post("/groups/members", data={**fields, "group_id": group.id, "all_matching": "1"})
    assert _members(db, group) == {mine.id}


def test_all_matching_into_an_inactive_group_adds_nobody(client, login_as, build, db):
    login_as("sales")
    closed = _group(db, "Alt", active=False)
    build.case(build.customer())
    fields = _list_form(client, "/list/decline")
    done = client.post(
        "/groups/members",
        data={**fields, "group_id": closed.id, "all_matching": "1"},
        follow_redirects=True,
    )
    assert "nimmt keine neuen Mitglieder auf" in unescape(done.get_data(as_text=True))
    assert _members(db, closed) == set()

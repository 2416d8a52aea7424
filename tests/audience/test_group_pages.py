"""The group pages (issue 15, G1/G3/G5): the editor with its preview count, the member
list with filters, sort and export, members by hand from the case page and from a list
selection, the group filter of the queue and the overview, the company restriction and
crafted ids."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from recovery.models import (
    ContactGroup,
    GroupMember,
    GroupMemberChange,
    Newsletter,
    NewsletterSubscription,
    utcnow,
)
from tests.conftest import csrf_from, utc


def _group(db, name="Stammkunden", rules=None, active=True) -> ContactGroup:
    group = ContactGroup(name=name, rules=rules, active=active)
    db.session.add(group)
    db.session.commit()
    return group


def _member(db, group, customer, source="hand", added_at=None):
    db.session.add(
        GroupMember(
            group_id=group.id,
            customer_id=customer.id,
            source=source,
            added_at=added_at or utcnow(),
        )
    )
    db.session.commit()


def _members(db, group) -> set[int]:
    return set(
        db.session.scalars(select(GroupMember.customer_id).where(GroupMember.group_id == group.id))
    )


def test_an_admin_counts_before_saving_then_sees_the_members(client, login_as, build, db):
    login_as("admin")
    wien = build.customer(last_name="Wiener", country="AT", customer_group="Händler")
    build.customer(last_name="Grazer", country="AT", customer_group="Endkunde")
    build.customer(last_name="Kölner", country="DE", customer_group="Händler")
    page = client.get("/groups/new").get_data(as_text=True)
    form = {
        "csrf_token": csrf_from(page),
        "name": "Händler in Österreich",
        "description": "Für die Messe",
        "active": "1",
        "country": "AT",
        "customer_group": "Händler",
    }
    preview = client.post("/groups/new", data={**form, "preview": "1"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'class="notice preview-count"' in html
    assert ">1 " in html.split('preview-count"')[1][:40]  # one customer matches
    assert 'value="Händler in Österreich"' in html  # the form is shown again, filled in
    assert db.session.scalars(select(ContactGroup)).all() == []  # nothing saved yet
    saved = client.post("/groups/new", data={**form, "save": "1"})
    group = db.session.scalars(select(ContactGroup)).one()
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/groups/{group.id}")
    assert group.rules == [
        {"type": "customer_group", "values": ["Händler"]},
        {"type": "country", "values": ["AT"]},
    ]
    assert _members(db, group) == {wien.id}
    members = client.get(f"/groups/{group.id}").get_data(as_text=True)
    assert "Wiener" in members and "Grazer" not in members and "Kölner" not in members
    listing = client.get("/groups/").get_data(as_text=True)
    assert "Händler in Österreich" in listing
    assert "<td>Händler</td>" in listing  # the WaWi's customer groups are still shown


def test_a_bad_rule_is_named_and_nothing_is_saved(client, login_as, db):
    login_as("admin")
    page = client.get("/groups/new").get_data(as_text=True)
    response = client.post(
        "/groups/new",
        data={
            "csrf_token": csrf_from(page),
            "name": "Umsatzband",
            "revenue_min": "viel",
            "save": "1",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "flash-error" in html
    assert "Umsatz ab" in html or "Revenue from" in html
    assert db.session.scalars(select(ContactGroup)).all() == []


def test_only_admins_create_or_edit_groups(client, login_as, db):
    login_as("sales")
    group = _group(db)
    assert client.get("/groups/new").status_code == 403
    assert client.get(f"/groups/{group.id}/edit").status_code == 403
    assert client.get(f"/groups/{group.id}").status_code == 200


def _newsletter_group(db, build):
    group = _group(db, "Newsletter-Leser")
    letter = Newsletter(group_id=group.id, name="Gartenpost")
    db.session.add(letter)
    db.session.commit()
    people = {
        "Anna": ("hand", "confirmed", utc(2026, 3, 2)),
        "Bernd": ("rule", "pending", utc(2026, 3, 5)),
        "Clara": ("form", "unsubscribed", utc(2026, 3, 1)),
        "Dieter": ("rule", None, utc(2026, 3, 9)),
    }
    made = {}
    for first, (source, status, since) in people.items():
        customer = build.customer(first_name=first, last_name="Beet")
        _member(db, group, customer, source, since)
        if status:
            db.session.add(
                NewsletterSubscription(
                    newsletter_id=letter.id,
                    customer_id=customer.id,
                    status=status,
                    source=source,
                    signed_up_at=utc(2026, 3, 1, 10),
                    confirmed_at=utc(2026, 3, 2, 9) if status != "pending" else None,
                    unsubscribed_at=utc(2026, 4, 1) if status == "unsubscribed" else None,
                )
            )
        made[first] = customer
    db.session.commit()
    return group, made


def _names(html: str) -> list[str]:
    body = html.split('class="grid group-members"')[1].split("</table>")[0]
    return [n for n in ("Anna", "Bernd", "Clara", "Dieter") if f"{n} Beet" in body]


def test_member_list_filters_sorts_and_pages(client, login_as, build, db, app):
    login_as("sales")
    group, _ = _newsletter_group(db, build)
    url = f"/groups/{group.id}"
    assert _names(client.get(url).get_data(as_text=True)) == ["Anna", "Bernd", "Clara", "Dieter"]
    assert _names(client.get(f"{url}?source=rule").get_data(as_text=True)) == ["Bernd", "Dieter"]
    assert _names(client.get(f"{url}?state=confirmed").get_data(as_text=True)) == ["Anna"]
    assert _names(client.get(f"{url}?state=none").get_data(as_text=True)) == ["Dieter"]
    assert _names(client.get(f"{url}?q=clara").get_data(as_text=True)) == ["Clara"]
    html = client.get(f"{url}?sort=-since").get_data(as_text=True)
    body = html.split('class="grid group-members"')[1]
    assert body.index("Dieter") < body.index("Bernd") < body.index("Anna") < body.index("Clara")
    # crafted filters fall back to the defaults, never an error
    assert client.get(f"{url}?sort=x&state=y&source=z&page=-3").status_code == 200
    app.config["PAGE_SIZE"] = 3
    try:
        second = client.get(f"{url}?sort=since&page=2").get_data(as_text=True)
    finally:
        app.config["PAGE_SIZE"] = 50
    assert _names(second) == ["Dieter"]


def _csv(client, url) -> tuple[str, list[list[str]]]:
    response = client.get(url)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    delimiter = ";" if text.startswith("\ufeffKundennummer") else ","
    return text, list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter))


def test_member_export_in_the_queue_exports_format(client, login_as, build, db):
    login_as("sales")
    group, people = _newsletter_group(db, build)
    text, rows = _csv(client, f"/groups/{group.id}/export.csv?source=hand")
    assert text.startswith("\ufeffKundennummer;Name;")
    assert rows[1][:2] == [people["Anna"].number, "Anna Beet"]
    assert rows[1][4:10] == [
        "02.03.2026", "von Hand", "bestätigt", "01.03.2026", "02.03.2026", "",
    ]  # fmt: skip
    assert len(rows) == 2
    text, rows = _csv(client, f"/groups/{group.id}/export.csv?source=hand&format=en")
    assert rows[0][0] == "Customer number" and rows[1][4:7] == [
        "2026-03-02",
        "by hand",
        "confirmed",
    ]
    disposition = client.get(f"/groups/{group.id}/export.csv").headers["Content-Disposition"]
    assert "Kundengruppe-Newsletter-Leser-" in disposition and disposition.endswith('.csv"')


def test_case_page_shows_the_groups_and_adds_and_removes_by_hand(client, login_as, build, db):
    user = login_as("sales")
    group, people = _newsletter_group(db, build)
    other = _group(db, "Messebesucher")
    _group(db, "Altkunden", active=False)
    case = build.case(people["Bernd"])
    html = client.get(f"/case/{case.id}").get_data(as_text=True)
    box = html.split('id="groups"')[1].split("</div>")[0]
    assert "Newsletter-Leser" in box and "Gartenpost" in box
    assert "Messebesucher" in box and "Altkunden" not in box  # only active groups to add to
    added = client.post(
        "/groups/members",
        data={
            "csrf_token": csrf_from(html),
            "group_id": other.id,
            "customer_id": people["Bernd"].id,
            "next": f"/case/{case.id}",
        },
    )
    assert added.status_code == 302 and added.headers["Location"].endswith(f"/case/{case.id}")
    assert _members(db, other) == {people["Bernd"].id}
    change = db.session.scalars(
        select(GroupMemberChange).where(GroupMemberChange.group_id == other.id)
    ).one()
    assert (change.change, change.source, change.user_id) == ("added", "hand", user.id)
    removed = client.post(
        f"/groups/{group.id}/members/{people['Bernd'].id}/remove",
        data={"csrf_token": csrf_from(html), "next": f"/case/{case.id}"},
    )
    assert removed.status_code == 302
    assert people["Bernd"].id not in _members(db, group)
    # no CSRF token: refused, nothing changed
    assert (
        client.post(
            "/groups/members", data={"group_id": group.id, "customer_id": people["Bernd"].id}
        ).status_code
        == 400
    )
    assert people["Bernd"].id not in _members(db, group)


def test_an_inactive_group_refuses_hand_members(client, login_as, build, db):
    login_as("sales")
    group = _group(db, "Altkunden", active=False)
    customer = build.customer()
    page = client.get("/groups/").get_data(as_text=True)
    response = client.post(
        "/groups/members",
        data={"csrf_token": csrf_from(page), "group_id": group.id, "customer_id": customer.id},
        follow_redirects=True,
    )
    assert "flash-error" in response.get_data(as_text=True)
    assert _members(db, group) == set()


def test_queue_selection_adds_to_a_group_and_the_group_filters_lists(client, login_as, build, db):
    login_as("sales")
    group = _group(db)
    a, b, c = (build.customer(last_name=n) for n in ("Ahorn", "Birke", "Castanie"))
    for customer in (a, b, c):
        build.case(customer)
    html = client.get("/list/decline").get_data(as_text=True)
    assert f'name="customer_id" value="{a.id}"' in html
    client.post(
        "/groups/members",
        data={
            "csrf_token": csrf_from(html),
            "group_id": group.id,
            "customer_id": [a.id, c.id],
            "next": "/list/decline",
        },
    )
    assert _members(db, group) == {a.id, c.id}
    filtered = client.get(f"/list/decline?group={group.id}").get_data(as_text=True)
    assert "Ahorn" in filtered and "Castanie" in filtered and "Birke" not in filtered
    _, rows = _csv(client, f"/list/decline/export.csv?group={group.id}")
    assert sorted(r[1] for r in rows[1:]) == ["Erika Ahorn", "Erika Castanie"]
    overview = client.get(f"/overview/?group={group.id}").get_data(as_text=True)
    assert 'class="tile-count">2<' in overview
    assert 'class="tile-count">3<' in client.get("/overview/").get_data(as_text=True)


def test_a_restricted_user_sees_and_adds_only_their_companys_customers(client, login_as, build, db):
    north = build.company("Nordhof GmbH")
    south = build.company("Südfeld KG")
    group = _group(db)
    mine = build.customer(last_name="Nordkunde")
    theirs = build.customer(last_name="Südkunde")
    build.order(mine, utcnow() - timedelta(days=10), company=north)
    build.order(theirs, utcnow() - timedelta(days=10), company=south)
    _member(db, group, mine)
    _member(db, group, theirs)
    login_as("sales", company_id=north.id)
    html = client.get(f"/groups/{group.id}").get_data(as_text=True)
    assert "Nordkunde" in html and "Südkunde" not in html
    listing = client.get("/groups/").get_data(as_text=True)
    assert '<td class="num">1</td>' in listing.split("contact-groups")[1].split("</table>")[0]
    _, rows = _csv(client, f"/groups/{group.id}/export.csv")
    assert [r[1] for r in rows[1:]] == ["Erika Nordkunde"]
    other = _group(db, "Zweite")
    client.post(
        "/groups/members",
        data={"csrf_token": csrf_from(html), "group_id": other.id, "customer_id": [theirs.id]},
    )
    assert _members(db, other) == set()
    # removing a customer the user cannot see is no page
    removed = client.post(
        f"/groups/{group.id}/members/{theirs.id}/remove", data={"csrf_token": csrf_from(html)}
    )
    assert removed.status_code == 404 and theirs.id in _members(db, group)


def test_crafted_ids_are_no_page(client, login_as, build, db):
    login_as("admin")
    group = _group(db)
    page = client.get("/groups/").get_data(as_text=True)
    token = csrf_from(page)
    for url in ("/groups/999999", "/groups/99999999999999", "/groups/999999/edit",
                "/groups/999999/export.csv", "/groups/abc"):  # fmt: skip
        assert client.get(url).status_code == 404, url
    assert (
        client.post("/groups/999999/members/1/remove", data={"csrf_token": token}).status_code
        == 404
    )
    assert (
        client.post(
            f"/groups/{group.id}/members/999999/remove", data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/groups/members", data={"csrf_token": token, "group_id": "999999", "customer_id": "1"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/groups/members", data={"csrf_token": token, "group_id": group.id, "customer_id": "x"}
        ).status_code
        == 400
    )
    assert client.get("/list/decline?group=99999999999999999999").status_code == 400
    assert client.get("/overview/?group=abc").status_code == 200


def test_the_group_pages_show_no_english_in_german(client, login_as, build, db):
    from tests.app.test_german_pages import _Texts, english_ids

    login_as("admin")
    group, people = _newsletter_group(db, build)
    group.rules = [
        {"type": "revenue", "min": "10.00", "max": None},
        {"type": "flag", "value": "none"},
        {"type": "last_order", "from": None, "to": "2026-05-01"},
    ]
    db.session.commit()
    case = build.case(people["Anna"])
    english = english_ids()
    for url in (f"/groups/{group.id}", f"/groups/{group.id}/edit", "/groups/",
                f"/case/{case.id}", "/list/decline", "/overview/"):  # fmt: skip
        parser = _Texts()
        parser.feed(client.get(url).get_data(as_text=True))
        assert not {t for t in parser.texts if t in english}, url

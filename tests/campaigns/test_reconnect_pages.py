"""ReConnect's overview (R1), tabs (R2), send switch and settings, through the pages."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from recovery.campaigns import lists, tally
from recovery.extensions import db
from recovery.models import (
    DoNotContact,
    Message,
    ReconnectContact,
    ReconnectExclusion,
    ReconnectSettings,
    business_tz,
    utcnow,
)
from tests.campaigns.helpers import overdue, shop, switch_on
from tests.conftest import csrf_from

pytestmark = pytest.mark.usefixtures("always_open")


def _cells(html: str, marker: str) -> list[str]:
    """The texts of the cells of the table row that holds ``marker``."""
    row = html.split(marker)[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells]


def _contact(case, **fields) -> ReconnectContact:
    values = {
        "case_id": case.id,
        "customer_id": case.customer_id,
        "product_group_id": case.product_group_id,
        "company_id": case.company_id,
        "first_sent_at": utcnow() - timedelta(days=20),
        "first_channels": "email",
    }
    values.update(fields)
    contact = ReconnectContact(**values)
    db.session.add(contact)
    db.session.commit()
    return contact


def test_overview_counts_overdue_reachable_sent_and_reconnected_per_group(client, login_as, build):
    company = shop(build)
    seeds, tools = build.group("Saatgut"), build.group("Werkzeug")
    switch_on(seeds)
    overdue(build, company, seeds)
    overdue(build, company, seeds, email=None)
    overdue(build, company, seeds, marketing_consent=False)
    sent = overdue(build, company, seeds)
    _contact(sent, followup_at=utcnow() - timedelta(days=5))
    back = overdue(build, company, seeds)
    _contact(back, reconnected_at=utcnow() - timedelta(days=2), reconnected_revenue=Decimal("80"))
    old = overdue(build, company, seeds)  # reconnected before the 3 months: not counted
    _contact(
        old,
        first_sent_at=utcnow() - timedelta(days=200),
        reconnected_at=utcnow() - timedelta(days=150),
        reconnected_revenue=Decimal("999"),
    )
    overdue(build, company, tools)
    login_as("sales", locale="en")
    html = client.get("/reconnect/").get_data(as_text=True)
    # group, on/off, overdue, reachable, not reachable, first, follow-up, reconnected, revenue
    assert _cells(html, f'data-group="{seeds.id}"')[1:9] == [
        "on", "6", "1", "2", "2", "1", "1", "€80.00",
    ]  # fmt: skip
    assert _cells(html, f'data-group="{tools.id}"')[1:9] == [
        "off", "1", "1", "0", "0", "0", "0", "€0.00",
    ]  # fmt: skip
    assert f"/reconnect/contact?group={seeds.id}" in html
    assert f"/reconnect/contact?group={tools.id}" not in html  # switched off


def test_a_sales_user_of_one_company_sees_only_its_cases(client, login_as, build):
    ours, theirs = shop(build), shop(build, "Andere GmbH")
    group = build.group("Saatgut")
    overdue(build, ours, group)
    other = overdue(build, theirs, group, last_name="Fremd")
    _contact(other)
    login_as("sales", locale="en", company_id=ours.id)
    html = client.get("/reconnect/").get_data(as_text=True)
    assert _cells(html, f'data-group="{group.id}"')[2:7] == ["1", "1", "0", "0", "0"]
    tab = client.get(f"/reconnect/group/{group.id}/first").get_data(as_text=True)
    assert "Fremd" not in tab
    page = client.get(f"/reconnect/group/{group.id}/reachable").get_data(as_text=True)
    response = client.post(
        f"/reconnect/group/{group.id}/switch/{other.customer_id}",
        data={"csrf_token": csrf_from(page), "send": "off"},
    )
    assert response.status_code == 404
    assert db.session.query(ReconnectExclusion).count() == 0


def test_tabs_list_reachable_and_not_reachable_with_the_reason(client, login_as, build):
    company = shop(build, channel_preference="both")
    group = build.group("Saatgut")
    rich = overdue(build, company, group, risk="900.00", last_name="Reich")
    poor = overdue(build, company, group, risk="10.00", last_name="Arm")
    nothing = overdue(build, company, group, email=None, last_name="Ohneadresse")
    gone = overdue(build, company, group, last_name="Abgemeldet", mobile="0171 1234567")
    db.session.add(
        DoNotContact(customer_id=gone.customer_id, channel="email", reason="unsubscribed")
    )
    db.session.add(DoNotContact(customer_id=gone.customer_id, channel="sms", reason="hard_bounce"))
    recent = overdue(build, company, group, last_name="Gerade")
    db.session.add(
        Message(
            customer_id=recent.customer_id,
            purpose="queue",
            marketing=True,
            to_address="x@example.de",
            state="outbox",
        )
    )
    rich.expected_next_order = utcnow() - timedelta(days=40)
    db.session.commit()
    login_as("sales", locale="en")

    html = client.get(f"/reconnect/group/{group.id}/reachable").get_data(as_text=True)
    assert html.index("Reich") < html.index("Arm")  # highest revenue at risk first
    assert "Ohneadresse" not in html and "Gerade" not in html
    assert f'href="/case/{rich.id}"' in html
    expected = rich.expected_next_order.astimezone(business_tz())
    assert _cells(html, f'data-customer="{rich.customer_id}"')[5:7] == [
        f"{expected:%b} {expected.day}, {expected.year}",
        "–",
    ]

    html = client.get(f"/reconnect/group/{group.id}/unreachable").get_data(as_text=True)
    why = {
        name: _cells(html, f'data-customer="{case.customer_id}"')[8]
        for name, case in (("none", nothing), ("gone", gone), ("recent", recent))
    }
    assert why["none"] == "Email: no email address · SMS: no mobile number"
    assert why["gone"] == "Email: unsubscribed · SMS: address bounced"
    assert why["recent"] == "contacted too recently"
    assert f'data-customer="{rich.customer_id}"' not in html
    assert f'data-customer="{poor.customer_id}"' not in html


@pytest.mark.parametrize("first, chunk", [(3, 3), (1, 4)])
def test_tabs_page_through_the_rows(client, login_as, build, monkeypatch, first, chunk):
    monkeypatch.setattr(lists, "PAGE_SIZE", 2)
    # Pages cross the chunks read from the index: all of 3, or growing 1, 4, 4.
    monkeypatch.setattr(lists, "_first_chunk", lambda *args: first)
    monkeypatch.setattr(lists, "CHUNK", chunk)
    company = shop(build)
    group = build.group("Saatgut")
    for i in range(7):
        email = None if i in (1, 4) else f"kunde{i}@example.de"
        overdue(build, company, group, risk=f"{100 - i}.00", last_name=f"Kunde{i}", email=email)
    login_as("sales", locale="en")
    url = f"/reconnect/group/{group.id}/reachable"
    pages = [client.get(f"{url}?page={n}").get_data(as_text=True) for n in (1, 2, 3)]
    shown = [[f"Kunde{i}" for i in range(7) if f" Kunde{i}<" in html] for html in pages]
    assert shown == [["Kunde0", "Kunde2"], ["Kunde3", "Kunde5"], ["Kunde6"]]
    assert 'rel="next"' in pages[1] and 'rel="next"' not in pages[2]
    assert "Page 3" in pages[2]
    unreachable = client.get(f"/reconnect/group/{group.id}/unreachable").get_data(as_text=True)
    assert " Kunde1<" in unreachable and " Kunde4<" in unreachable
    beyond = client.get(f"{url}?page=99")
    assert beyond.status_code == 200 and "Nobody in this tab." in beyond.get_data(as_text=True)
    assert client.get(f"{url}?page=x").status_code == 200
    assert client.get(f"/reconnect/group/{group.id}/nonsense").status_code == 404
    assert client.get("/reconnect/group/999999/reachable").status_code == 404


def test_the_first_chunk_is_sized_by_the_tallys_share_of_the_tab(build, monkeypatch):
    company = shop(build)
    group = build.group("Saatgut")
    for i in range(8):
        email = None if i < 2 else f"kunde{i}@example.de"  # 6 reachable, 2 not
        overdue(build, company, group, risk=f"{100 - i}.00", email=email)
    assert lists._first_chunk(group.id, "reachable", 51) == lists.CHUNK  # nothing counted
    tally.refresh()
    monkeypatch.setattr(lists, "FIRST_CHUNK", 1)
    # 51 wanted, 6 of 8 in the tab: 51 × 8 / 6 × 1.5 = 102; 2 of 8: 306
    assert lists._first_chunk(group.id, "reachable", 51) == 102
    assert lists._first_chunk(group.id, "unreachable", 51) == 306
    assert lists._first_chunk(group.id, "unreachable", 200) == lists.CHUNK
    monkeypatch.setattr(lists, "FIRST_CHUNK", 200)
    assert lists._first_chunk(group.id, "reachable", 51) == 200


def test_the_sent_tabs_show_first_message_follow_up_and_reconnected(client, login_as, build):
    company = shop(build)
    group = build.group("Saatgut")
    waiting = overdue(build, company, group, last_name="Wartend")
    _contact(waiting)
    followed = overdue(build, company, group, last_name="Erinnert")
    _contact(followed, followup_at=utcnow() - timedelta(days=3))
    skipped = overdue(build, company, group, last_name="Bestellt")
    _contact(skipped, followup_skipped="ordered", followup_decided_at=utcnow())
    back = overdue(build, company, group, last_name="Zurueck")
    _contact(back, reconnected_at=utcnow() - timedelta(days=1), reconnected_revenue=Decimal("45"))
    login_as("sales", locale="en")
    first = client.get(f"/reconnect/group/{group.id}/first").get_data(as_text=True)
    assert all(n in first for n in ("Wartend", "Erinnert", "Bestellt", "Zurueck"))
    assert "not sent: ordered from the group" in first
    followup = client.get(f"/reconnect/group/{group.id}/followup").get_data(as_text=True)
    assert "Erinnert" in followup and "Wartend" not in followup
    reconnected = client.get(f"/reconnect/group/{group.id}/reconnected").get_data(as_text=True)
    assert "Zurueck" in reconnected and "Wartend" not in reconnected
    assert "€45.00" in reconnected


def test_the_send_switch_turns_a_customer_off_and_on_by_post_with_csrf(client, login_as, build):
    company = shop(build)
    group = build.group("Saatgut")
    switch_on(group)
    case = overdue(build, company, group)
    login_as("sales", locale="en")
    url = f"/reconnect/group/{group.id}/switch/{case.customer_id}"
    assert client.get(url).status_code == 405
    response = client.post(url, data={"send": "off"})  # no CSRF token
    assert response.status_code == 400
    assert db.session.query(ReconnectExclusion).count() == 0

    page = client.get(f"/reconnect/group/{group.id}/reachable").get_data(as_text=True)
    back = f"/reconnect/group/{group.id}/reachable?page=1"
    response = client.post(url, data={"csrf_token": csrf_from(page), "send": "off", "next": back})
    assert response.location.endswith(back)
    assert db.session.query(ReconnectExclusion).count() == 1
    client.post(url, data={"csrf_token": csrf_from(page), "send": "off"})  # twice: still one
    assert db.session.query(ReconnectExclusion).count() == 1
    html = client.get(back).get_data(as_text=True)
    assert "Sending switched off for this customer in Saatgut." in html
    assert 'aria-pressed="false"' in html
    confirm = client.get(f"/reconnect/contact?group={group.id}").get_data(as_text=True)
    assert "Nobody to contact" in confirm

    client.post(url, data={"csrf_token": csrf_from(page), "send": "on"})
    assert db.session.query(ReconnectExclusion).count() == 0
    confirm = client.get(f"/reconnect/contact?group={group.id}").get_data(as_text=True)
    assert "1 customer will get the first message." in confirm


def test_group_settings_are_for_admins_and_refuse_out_of_range_values(client, login_as, build):
    group = build.group("Saatgut")
    login_as("sales", locale="en")
    assert client.get(f"/reconnect/group/{group.id}/settings").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})
    login_as("admin", locale="en")
    url = f"/reconnect/group/{group.id}/settings"
    page = client.get(url).get_data(as_text=True)
    assert 'value="14"' in page and 'value="30"' in page
    bad = client.post(
        url,
        data={
            "csrf_token": csrf_from(page),
            "enabled": "y",
            "followup_delay_days": "0",
            "attribution_days": "30",
        },
    )
    assert bad.status_code == 200 and "Number must be between 1 and 365." in bad.get_data(
        as_text=True
    )
    assert db.session.get(ReconnectSettings, group.id) is None
    good = client.post(
        url,
        data={
            "csrf_token": csrf_from(page),
            "enabled": "y",
            "followup_delay_days": "10",
            "attribution_days": "45",
        },
    )
    assert good.status_code == 302
    row = db.session.get(ReconnectSettings, group.id)
    assert (row.enabled, row.followup_delay_days, row.attribution_days) == (True, 10, 45)


def test_overview_tab_and_confirm_speak_german(client, login_as, build):
    from tests.app.test_german_pages import _Texts, english_ids

    company = shop(build)
    group = build.group("Saatgut")
    switch_on(group)
    overdue(build, company, group)
    overdue(build, company, group, email=None)
    _contact(overdue(build, company, group), followup_skipped="open_order")
    login_as("admin", locale="de")
    english = english_ids()
    urls = [
        "/reconnect/",
        *(f"/reconnect/group/{group.id}/{tab}" for tab in lists.TABS),
        f"/reconnect/contact?group={group.id}",
        f"/reconnect/group/{group.id}/settings",
    ]
    for url in urls:
        html = client.get(url).get_data(as_text=True)
        parser = _Texts()
        parser.feed(html)
        assert not {t for t in parser.texts if t in english}, url
    tab = client.get(f"/reconnect/group/{group.id}/unreachable").get_data(as_text=True)
    assert "Überfällig, nicht erreichbar" in tab and "E-Mail: keine E-Mail-Adresse" in tab
    first = client.get(f"/reconnect/group/{group.id}/first").get_data(as_text=True)
    assert "nicht gesendet: hat einen offenen Auftrag" in first
    confirm = client.get(f"/reconnect/contact?group={group.id}").get_data(as_text=True)
    assert "1 Kunde erhält die erste Nachricht." in confirm

"""ReConnect at scale: the counts kept by the worker (``campaigns/tally.py``) against
direct counts, and the overdue tabs paged by their links (``after`` / ``before``)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from recovery.campaigns import lists, tally
from recovery.campaigns.first import Scope, plan, queue_first
from recovery.campaigns.overdue import Overdue
from recovery.campaigns.settings import set_send_switch
from recovery.extensions import db
from recovery.messaging.cap import save_cap
from recovery.models import (
    Case,
    DoNotContact,
    JobRun,
    Message,
    ReconnectContact,
    ReconnectTally,
    utcnow,
)
from tests.campaigns.helpers import overdue, shop, switch_on
from tests.conftest import csrf_from

pytestmark = pytest.mark.usefixtures("always_open")


def _world(build):
    """Two companies, three groups (one switched off), customers of every kind."""
    ours, theirs = shop(build), shop(build, "Hof & Feld GmbH", channel_preference="both")
    seeds, tools, soil = build.group("Saatgut"), build.group("Werkzeug"), build.group("Erde")
    switch_on(seeds)
    switch_on(tools, sms=True)
    cases = {
        "plain": overdue(build, ours, seeds),
        "no_email": overdue(build, ours, seeds, email=None),
        "refused": overdue(build, ours, seeds, marketing_consent=False),
        "unknown_consent": overdue(build, theirs, seeds, marketing_consent=None),
        "sms_only": overdue(build, theirs, tools, email=None, mobile="+491701234567"),
        "bounced": overdue(build, ours, tools),
        "recent": overdue(build, theirs, tools),
        "switched_off": overdue(build, ours, tools),
        "contacted": overdue(build, ours, seeds),
        "off_group": overdue(build, theirs, soil),
        "no_company": overdue(build, None, soil),
    }
    build_dnc = DoNotContact(
        customer_id=cases["bounced"].customer_id, channel="email", reason="hard_bounce"
    )
    db.session.add(build_dnc)
    db.session.add(
        Message(
            customer_id=cases["recent"].customer_id,
            channel="email",
            purpose="queue",
            marketing=True,
            to_address="x@example.de",
            variables={},
            state="sent",
            send_after=utcnow(),
            created_at=utcnow() - timedelta(days=1),
        )
    )
    contacted = cases["contacted"]
    db.session.add(
        ReconnectContact(
            case_id=contacted.id,
            customer_id=contacted.customer_id,
            product_group_id=contacted.product_group_id,
            company_id=contacted.company_id,
            first_sent_at=utcnow() - timedelta(days=2),
            first_channels="email",
        )
    )
    db.session.commit()
    set_send_switch(cases["switched_off"].customer_id, tools.id, False, None)
    db.session.commit()
    return (ours, theirs), (seeds, tools, soil), cases


def _direct(now, company_id=None) -> dict[int, tally.GroupCounts]:
    """The counts straight from the statements the tabs and the first message use."""
    query = Overdue(now, company_id)
    found: dict[int, tally.GroupCounts] = {}

    def add(name, stmt):
        by_group = Case.product_group_id
        for group_id, n in db.session.execute(
            stmt.with_only_columns(by_group, func.count()).group_by(by_group)
        ):
            counts = found.setdefault(group_id, tally.GroupCounts())
            setattr(counts, name, n)

    add("overdue", query.select(Case.id))
    add("fresh", query.select(Case.id).where(query.fresh()))
    add("reachable", query.select(Case.id).where(query.fresh(), query.reachable()))
    # the first message's own statement, for every group (switched on or not)
    scope = Scope(company_id=company_id)
    due = scope.select(now, Case.id).where(Case.product_group_id.is_not(None))
    due = due.with_only_columns(Case.product_group_id, func.count())
    due = due.group_by(Case.product_group_id)
    for group_id, n in db.session.execute(due):
        found[group_id].due = n
    return found


@pytest.mark.parametrize("company", [None, "ours", "theirs"])
def test_the_tally_counts_what_a_direct_count_counts(build, company):
    companies, groups, _cases = _world(build)
    company_id = {"ours": companies[0].id, "theirs": companies[1].id}.get(company)
    now = utcnow()
    tally.refresh(now)
    db.session.commit()
    assert tally.counted_at() == now
    kept = tally.per_group(now, company_id)
    direct = _direct(now, company_id)
    switched_on = {groups[0].id, groups[1].id}
    for group_id in set(kept) | set(direct):
        a, b = kept[group_id], direct[group_id]
        assert (a.overdue, a.fresh, a.reachable) == (b.overdue, b.fresh, b.reachable), group_id
        if group_id in switched_on:
            assert a.due == b.due, group_id
    assert kept == tally.per_group(now, company_id)  # read from the rows, not counted
    assert db.session.scalar(select(func.count()).select_from(ReconnectTally)) >= 4
    if company is None:  # the groups by hand: seeds 5 open, 4 fresh, plain + unknown consent
        seeds = kept[groups[0].id]
        assert (seeds.overdue, seeds.fresh, seeds.reachable, seeds.due) == (5, 4, 2, 2)
        tools = kept[groups[1].id]  # sms_only, switched_off reachable; bounced, recent not
        assert (tools.overdue, tools.fresh, tools.reachable, tools.due) == (4, 4, 2, 1)


def test_pages_read_the_tally_until_it_is_stale(client, login_as, build):
    _companies, (seeds, _tools, _soil), _cases = _world(build)
    company = shop(build, "Dritte GmbH")
    now = utcnow()
    tally.refresh(now)
    db.session.commit()
    overdue(build, company, seeds)  # after the count: not in the tally yet
    login_as("sales", locale="en")
    html = client.get("/reconnect/").get_data(as_text=True)
    assert _cells(html, f'data-group="{seeds.id}"')[2:5] == ["5", "2", "2"]
    confirm = client.get(f"/reconnect/contact?group={seeds.id}").get_data(as_text=True)
    assert "2 customers will get the first message." in confirm
    # The worker counts again a minute later; a count older than five minutes is not used.
    assert tally.count_task(now + timedelta(seconds=30)) is False
    assert tally.count_task(now + timedelta(seconds=61)) is True
    html = client.get("/reconnect/").get_data(as_text=True)
    assert _cells(html, f'data-group="{seeds.id}"')[2:5] == ["6", "3", "2"]
    overdue(build, company, seeds)
    stale = utcnow() - tally.STALE - timedelta(seconds=1)
    tally.Setting.write(tally.KEY, {"counted_at": stale.isoformat()}, None)
    db.session.commit()
    html = client.get("/reconnect/").get_data(as_text=True)
    assert _cells(html, f'data-group="{seeds.id}"')[2:5] == ["7", "4", "2"]


def test_the_worker_counts_again_after_an_analysis(build):
    _world(build)
    assert tally.count_task() is True  # nothing counted yet
    at = tally.counted_at()
    assert tally.count_task(at + timedelta(seconds=5)) is False
    db.session.add(JobRun(kind="analyze", state="done", finished_at=at + timedelta(seconds=2)))
    db.session.commit()
    assert tally.count_task(at + timedelta(seconds=5)) is True


def test_a_contact_and_the_send_switch_count_their_group_again(client, login_as, build):
    _companies, (seeds, tools, _soil), cases = _world(build)
    tally.refresh()
    db.session.commit()
    user = login_as("sales", locale="en")
    plain = cases["plain"]
    queue_first(Scope(group_ids=(seeds.id,), customer_id=plain.customer_id), user, utcnow())
    page = client.get(f"/reconnect/group/{tools.id}/reachable").get_data(as_text=True)
    client.post(
        f"/reconnect/group/{tools.id}/switch/{cases['sms_only'].customer_id}",
        data={"csrf_token": csrf_from(page), "send": "off"},
    )
    now = utcnow()
    kept, direct = tally.per_group(now, None), _direct(now)
    assert kept[seeds.id] == direct[seeds.id]
    assert (kept[seeds.id].fresh, kept[seeds.id].due) == (3, 1)
    assert (
        (kept[tools.id].reachable, kept[tools.id].due)
        == (2, 0)
        == (
            direct[tools.id].reachable,
            direct[tools.id].due,
        )
    )
    assert plan(Scope(), now).total == 1


def test_a_new_cap_makes_the_pages_count_live_until_the_worker_counts(client, login_as, build):
    _companies, (_seeds, tools, _soil), _cases = _world(build)
    tally.refresh()
    db.session.commit()
    login_as("admin", locale="en")
    page = client.get("/reconnect/settings").get_data(as_text=True)
    client.post(
        "/reconnect/settings",
        data={
            "csrf_token": csrf_from(page),
            "weekdays": [str(d) for d in range(7)],
            "hours": ", ".join(str(h) for h in range(24)),
            "cap_days": "0",
        },
    )
    assert tally.counted_at() is None
    html = client.get("/reconnect/").get_data(as_text=True)
    assert _cells(html, f'data-group="{tools.id}"')[2:5] == ["4", "3", "1"]  # recent: free


def test_the_overdue_tabs_page_by_their_links(client, login_as, build, monkeypatch):
    monkeypatch.setattr(lists, "PAGE_SIZE", 3)
    monkeypatch.setattr(lists, "CHUNK", 4)  # pages cross the chunks read from the index
    company = shop(build)
    group = build.group("Saatgut")
    risks = ["90.00", "50.00", "50.00", "50.00", None, "70.00", "50.00", None, "10.00", None]
    risks += ["50.00", "30.00", None, "90.00"]
    for i, risk in enumerate(risks):
        email = None if i in (3, 8) else f"kunde{i}@example.de"
        case = overdue(build, company, group, last_name=f"Kunde{i}", email=email)
        case.revenue_at_risk = risk
    db.session.commit()
    login_as("sales", locale="en")
    url = f"/reconnect/group/{group.id}/reachable"
    by_number = [_names(client.get(f"{url}?page={n}").get_data(as_text=True)) for n in range(1, 6)]
    expected = [i for i, _r in _in_list_order(risks) if i not in (3, 8)]
    assert sum(by_number, []) == [f"Kunde{i}" for i in expected]
    forward, html, link = [], client.get(url).get_data(as_text=True), None
    while True:
        forward.append(_names(html))
        link = _link(html, "next")
        if link is None:
            break
        assert "after=" in link
        html = client.get(link).get_data(as_text=True)
    assert forward == [p for p in by_number if p]
    backward = [_names(html)]
    while (link := _link(html, "prev")) is not None:
        html = client.get(link).get_data(as_text=True)
        backward.append(_names(html))
    assert backward[::-1] == forward
    assert "Page 1" in html and "before=" not in (link or "")
    # a cursor from another group or a case that does not exist: counted from the top
    assert _names(client.get(f"{url}?page=2&after=999999").get_data(as_text=True)) == forward[1]
    assert client.get(f"{url}?page=2&before=abc").status_code == 200


def _in_list_order(risks):
    """Revenue at risk ↓, empty last, then id (creation order)."""
    numbered = list(enumerate(risks))
    known = sorted((p for p in numbered if p[1] is not None), key=lambda p: (-float(p[1]), p[0]))
    return known + [p for p in numbered if p[1] is None]


def _names(html: str) -> list[str]:
    return re.findall(r" (Kunde\d+)<", html)


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _cells(html: str, marker: str) -> list[str]:
    row = html.split(marker)[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells]


def test_the_cap_setting_is_what_the_counts_use(build):
    _companies, (_seeds, tools, _soil), _cases = _world(build)
    save_cap(0, None)
    db.session.commit()
    now = utcnow()
    assert tally.live(now)[(tools.id, _cases["recent"].company_id)].reachable == 2

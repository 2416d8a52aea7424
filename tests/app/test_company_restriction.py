"""A sales user restricted to one company sees nothing of another (issue 13 item 6).

The customers buy from both companies: the case page (orders with lines and amounts,
chart, history, messages, the variables an email would carry) and every list and
count (tiles, lists, export, groups, overview, ReConnect) must show only the user's
company.
"""

from __future__ import annotations

from datetime import timedelta

from recovery.models import CaseEvent, Message, utcnow
from tests.conftest import make_user


def _two_companies(build, db):
    """Customers who buy from Nordhof (A) and Südfeld (B), with cases of each."""
    north = build.company("Nordhof GmbH", shop_url="https://nordhof.example")
    south = build.company("Südfeld KG", shop_url="https://suedfeld.example")
    now = utcnow()
    both = build.customer(last_name="Beidseits", customer_group="Endkunde")
    mine = build.order(both, now - timedelta(days=200), "111.11", "Dünger", north)
    theirs = [
        build.order(both, now - timedelta(days=100), "777.77", "Fremdgruppe", south),
        build.order(both, now - timedelta(days=40), "888.88", "Fremdgruppe", south),
    ]
    case = build.case(both, north, revenue_at_risk=1000)
    south_case = build.case(
        both,
        south,
        key=f"overdue:{build.group('Fremdgruppe').id}",
        kind="overdue",
        product_group_id=build.group("Fremdgruppe").id,
        revenue_at_risk=9999,
    )
    other = build.customer(last_name="Südkunde", customer_group="Großhandel")
    build.order(other, now - timedelta(days=150), "123.45", "Dünger", north)
    build.order(other, now - timedelta(days=30), "555.55", "Fremdgruppe", south)
    other_case = build.case(other, south, status="contacted", revenue_at_risk=5555)
    only_south = build.customer(last_name="Nursüd", customer_group="Südhändler")
    build.order(only_south, now - timedelta(days=30), "444.44", "Fremdgruppe", south)
    build.case(only_south, south, status="recovered", recovered_revenue=4444, closed_at=now)
    admin = make_user("admin", name="Admin")
    db.session.add_all(
        [
            CaseEvent(case_id=case.id, user_id=admin.id, kind="note", text="Notiz Nordhof"),
            CaseEvent(case_id=south_case.id, user_id=admin.id, kind="note", text="Notiz Südfeld"),
            CaseEvent(case_id=south_case.id, user_id=admin.id, kind="remind", text="Südfeld-Plan"),
            Message(
                customer_id=both.id,
                case_id=case.id,
                company_id=north.id,
                channel="email",
                purpose="queue",
                to_address="nord@kunde.example",
                state="outbox",
            ),
            Message(
                customer_id=both.id,
                case_id=south_case.id,
                company_id=south.id,
                channel="email",
                purpose="queue",
                to_address="sued@kunde.example",
                state="outbox",
            ),
        ]
    )
    db.session.commit()
    foreign = [
        "Südfeld",
        "suedfeld",
        "777,77",
        "888,88",
        "555,55",
        "444,44",
        "Fremdgruppe",
        "sued@kunde",
        "Südhändler",
        *(o.number for o in theirs),
        *(o.lines[0].sku for o in theirs),
    ]
    return north, case, mine, other_case, foreign


def _assert_none_of(foreign, html, where):
    shown = [text for text in foreign if text in html]
    assert not shown, f"{where} shows {shown}"


def test_the_case_page_shows_only_the_users_company(client, login_as, build, db):
    north, case, mine, _other, foreign = _two_companies(build, db)
    login_as("sales", company_id=north.id)
    html = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    assert mine.number in html and "111,11" in html and "Notiz Nordhof" in html
    assert "nord@kunde.example" in html and "nordhof.example" in html
    _assert_none_of(foreign, html, "the case page")
    assert '<small class="muted">1</small>' in html  # one order counted, not three


def test_an_unrestricted_user_sees_both_companies(client, login_as, build, db):
    _north, case, _mine, _other, _foreign = _two_companies(build, db)
    login_as("sales")
    html = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    assert "888,88" in html and "Notiz Südfeld" in html and "sued@kunde.example" in html
    assert '<small class="muted">3</small>' in html


def test_every_list_and_count_shows_only_the_users_company(client, login_as, build, db):
    north, _case, _mine, other_case, foreign = _two_companies(build, db)
    login_as("sales", company_id=north.id)
    pages = ["/", "/groups/", "/overview/", "/reconnect/"]
    pages += [f"/list/{tile}" for tile in ("decline", "contacted", "recovered", "reminders")]
    pages += ["/list/decline?q=s%25d", "/list/contacted?company=" + str(other_case.company_id)]
    pages += [f"/list/{tile}/export.csv" for tile in ("decline", "contacted", "recovered")]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_none_of(foreign + ["Südkunde", "Nursüd"], response.get_data(as_text=True), url)
    assert client.get(f"/case/{other_case.id}").status_code == 404
    groups = client.get("/groups/").get_data(as_text=True)
    # Both customers of the group bought from Nordhof; "Großhandel" has one.
    assert groups.count("<td>Endkunde</td>") == 1 and "<td>Großhandel</td>" in groups

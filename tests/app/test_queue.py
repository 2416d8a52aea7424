"""The queue (Q1–Q7): tiles, lists, export, every button, claims, double submits."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine

from recovery.models import Case, CaseEvent, Message, Order, utcnow
from tests.conftest import PASSWORD, csrf_from, form_fields, make_user, utc


def _company(build, name="Gartenwelt GmbH", **fields):
    values = {
        "sender_email": "service@gartenwelt.example",
        "standard_template_id": 6100001,
        "voucher_template_id": 6100002,
        "offer_email": "angebote@gartenwelt.example",
    }
    values.update(fields)
    return build.company(name, **values)


def _case(build, company, **customer_fields):
    customer = build.customer(**customer_fields)
    build.order(customer, utcnow() - timedelta(days=120), "300.00", "Dünger", company)
    return build.case(customer, company)


def _act(client, case, action, **data):
    page = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    fields = form_fields(page, f"/case/{case.id}/{action}")
    fields.update(data)
    return client.post(f"/case/{case.id}/{action}?list=decline", data=fields), fields


def test_tiles_count_each_list(client, login_as, build, db):
    login_as("sales")
    company = _company(build)
    for status in ("new", "new", "contacted", "offer_requested", "no_interest"):
        build.case(build.customer(), company, status=status)
    build.case(
        build.customer(), company, status="reminder", remind_at=utcnow() - timedelta(hours=1)
    )
    build.case(build.customer(), company, status="reminder", remind_at=utcnow() + timedelta(days=3))
    build.case(
        build.customer(),
        company,
        status="recovered",
        recovered_revenue=Decimal("1234.50"),
        closed_at=utcnow(),
    )
    html = client.get("/").get_data(as_text=True)

    def count(tile):
        start = html.index(f'data-tile="{tile}"')
        return html[start:].split('class="tile-count">')[1].split("<")[0]

    assert [count(t) for t in ("decline", "reminders", "contacted", "offer", "no_interest")] == [
        "2",
        "1",
        "1",
        "1",
        "1",
    ]
    assert count("recovered") == "1" and "1.234,50\xa0€" in html


def test_list_filters_and_sort_live_in_the_url(client, login_as, build):
    login_as("sales")
    a, b = _company(build, "Firma A"), _company(build, "Firma B")
    ca = _case(build, a, last_name="Albrecht", customer_group="Händler", email="albrecht@x.de")
    cb = _case(build, b, last_name="Zander", customer_group="Endkunde")
    by_company = client.get(f"/list/decline?company={b.id}").get_data(as_text=True)
    assert "Zander" in by_company and "Albrecht" not in by_company
    by_group = client.get("/list/decline?customer_group=H%C3%A4ndler").get_data(as_text=True)
    assert "Albrecht" in by_group and "Zander" not in by_group
    by_text = client.get("/list/decline?q=ALBRECHT@x").get_data(as_text=True)
    assert "Albrecht" in by_text and "Zander" not in by_text
    by_name = client.get("/list/decline?sort=-name").get_data(as_text=True)
    assert by_name.index(f"/case/{cb.id}?") < by_name.index(f"/case/{ca.id}?")
    assert "sort=name" in by_name  # the header link toggles the direction


def _csv(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    return raw.decode("utf-8-sig")


def test_csv_export_german_english_filtered_and_neutralised(client, login_as, build, db):
    login_as("sales")
    a, b = _company(build, "Firma A"), _company(build, "Firma B")
    evil = _case(build, a, last_name='=HYPERLINK("http://x")', number="-42")
    evil.reference_revenue = Decimal("12345.67")
    evil.decline_pct = 57.125  # half a cent: rounds to even as written, 57,12
    evil.last_order_at = utc(2026, 3, 31, 22, 30)  # already 1 April in Berlin
    evil.reason_key = "decline"
    evil.reason_params = {
        "current_revenue": 4200.0, "reference_revenue": 9800.0, "decline_pct": 57.14,
        "window_months": 12, "comparison": "previous_period", "currency": "EUR",
    }  # fmt: skip
    db.session.commit()
    _case(build, b, last_name="Andere")
    german = _csv(client, f"/list/decline/export.csv?company={a.id}")
    rows = list(csv.reader(io.StringIO(german), delimiter=";"))
    assert rows[0][:3] == ["Kundennummer", "Name", "Firma"]
    assert len(rows) == 2  # header + the one case of Firma A
    assert rows[1][0] == "'-42" and rows[1][1].startswith("'Erika =HYPERLINK") is False
    assert rows[1][1] == 'Erika =HYPERLINK("http://x")'  # starts with a letter: harmless
    assert rows[1][5:10] == ["01.04.2026", "12345,67", "4200,00", "57,12", "3100,00"]
    assert rows[1][12:] == ["", "Umsatz 4.200\xa0€ in den letzten 12 Monaten gegenüber 9.800\xa0€"
                            " in den 12 Monaten davor (\u221257\xa0%)"]  # fmt: skip
    english = _csv(client, f"/list/decline/export.csv?company={a.id}&format=en")
    rows_en = list(csv.reader(io.StringIO(english)))
    assert rows_en[0][0] == "Customer number"
    assert rows_en[1][5:10] == ["2026-04-01", "12345.67", "4200.00", "57.12", "3100.00"]
    assert rows_en[1][13].startswith("revenue €4,200 in the last 12 months vs €9,800")
    assert (rows[1][10], rows_en[1][10]) == ("Neu", "New")  # the status's name, not "new"
    names = {
        client.get(f"/list/decline/export.csv{args}").headers["Content-Disposition"]
        for args in ("", "?format=en")
    }
    today = f"{datetime.now(ZoneInfo('Europe/Berlin')):%Y-%m-%d}"
    assert names == {
        f'attachment; filename="Umsatzrueckgang-{today}.csv"',
        f'attachment; filename="Revenue-decline-{today}-en.csv"',
    }


def test_excel_export_has_the_same_rows_with_numbers_and_dates(client, login_as, build, db):
    from openpyxl import load_workbook

    login_as("sales")
    a = _company(build, "Firma A")
    case = _case(build, a, last_name="=1+1", number="K-7")
    case.reference_revenue = Decimal("12345.67")
    case.decline_pct = 57.125
    case.last_order_at = utc(2026, 3, 31, 22, 30)  # already 1 April in Berlin
    db.session.commit()
    _case(build, a, last_name="Zweiter")
    response = client.get("/list/decline/export.xlsx?sort=name")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "Umsatzrueckgang-" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.get_data()))
    sheet = book.active
    assert sheet.title == "Umsatzrückgang"
    table = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert table[0][:3] == ["Kundennummer", "Name", "Firma"]
    assert len(table) == 3
    first = next(row for row in table[1:] if row[0] == "K-7")
    assert first[1] == "Erika =1+1"  # starts with a letter: harmless
    assert first[5].date() == date(2026, 4, 1)  # a date, the business's day
    assert first[6] == 12345.67 and first[8] == 57.125  # numbers, not text
    assert first[10] == "Neu"
    csv_rows = list(
        csv.reader(io.StringIO(_csv(client, "/list/decline/export.csv?sort=name")), delimiter=";")
    )
    assert [row[0] for row in csv_rows[1:]] == [row[0] for row in table[1:]]  # same list
    english = load_workbook(io.BytesIO(client.get("/list/decline/export.xlsx?format=en").data))
    assert english.active["A1"].value == "Customer number"


def test_formula_cells_are_neutralised():
    from recovery.cases.export import neutralise

    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(text) == "'" + text
    assert neutralise("Müller") == "Müller"


def test_reminder_comes_back_on_its_day(client, login_as, build, db):
    case = _case(build, _company(build))
    with time_machine.travel(utc(2026, 3, 2, 9, 0), tick=False):
        login_as("sales")
        response, _ = _act(client, case, "remind", days="7")
        assert response.status_code == 302
        db.session.expire_all()
        assert db.session.get(Case, case.id).status == "reminder"
        assert f"/case/{case.id}?" not in client.get("/list/decline").get_data(as_text=True)
        assert f"/case/{case.id}?" not in client.get("/list/reminders").get_data(as_text=True)
    with time_machine.travel(utc(2026, 3, 8, 22, 59), tick=False):  # 8 March, 23:59 Berlin
        assert f"/case/{case.id}?" not in client.get("/list/reminders").get_data(as_text=True)
    with time_machine.travel(utc(2026, 3, 8, 23, 0), tick=False):  # 9 March, 00:00 Berlin
        assert f"/case/{case.id}?" in client.get("/list/reminders").get_data(as_text=True)


def test_reminder_on_a_chosen_date(client, login_as, build, db):
    login_as("sales")
    case = _case(build, _company(build))
    on = (utcnow() + timedelta(days=45)).date()
    _act(client, case, "remind", days="10", on=on.isoformat())  # the date wins
    db.session.expire_all()
    assert db.session.get(Case, case.id).remind_at.date() in (on, on - timedelta(days=1))


def test_offer_request_goes_to_the_offer_address(client, login_as, build, db):
    user = login_as("sales", name="Sven Sales")
    case = _case(build, _company(build), number="K-777", last_name="Angebot")
    response, _ = _act(client, case, "offer", text="20 Sack Rasendünger, Staffelpreis")
    assert response.status_code == 302
    message = db.session.query(Message).one()
    assert message.to_address == "angebote@gartenwelt.example" and not message.marketing
    assert "K-777" in message.subject and "Angebot" in message.subject
    assert "20 Sack Rasendünger" in message.body and "Sven Sales" in message.body
    case = db.session.get(Case, case.id)
    assert case.status == "offer_requested" and case.assigned_user_id == user.id


def test_offer_request_falls_back_to_the_users_address(client, login_as, build, db):
    user = login_as("sales")
    case = _case(build, _company(build, offer_email=None))
    _act(client, case, "offer", text="Bitte Angebot")
    assert db.session.query(Message).one().to_address == user.email


def test_double_submitted_email_sends_once(client, login_as, build, db):
    login_as("sales")
    case = _case(build, _company(build))
    first, fields = _act(client, case, "email", template_kind="standard")
    second = client.post(f"/case/{case.id}/email?list=decline", data=fields)
    assert first.status_code == second.status_code == 302
    assert db.session.query(Message).count() == 1
    assert db.session.query(CaseEvent).filter_by(kind="email").count() == 1


def test_standard_and_voucher_templates(client, login_as, build, db):
    login_as("sales")
    company = _company(build, voucher_template_id=None)
    case = _case(build, company)
    _act(client, case, "email", template_kind="voucher")
    assert db.session.query(Message).count() == 0  # no voucher template for this company
    _act(client, case, "email", template_kind="standard")
    assert db.session.query(Message).one().template_id == 6100001


def test_two_users_on_one_case(app, client, login_as, build, db):
    case = _case(build, _company(build))
    login_as("sales", name="Erste")
    page = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    # starting an action claims it (viewing does not)
    assert (
        client.post(f"/case/{case.id}/claim", data={"csrf_token": csrf_from(page)}).status_code
        == 204
    )
    other = app.test_client()
    second = make_user("sales", name="Zweite")
    token = csrf_from(other.get("/login").get_data(as_text=True))
    other.post("/login", data={"email": second.email, "password": PASSWORD, "csrf_token": token})
    html = other.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    assert "Erste bearbeitet diesen Fall gerade. Sie können ihn ansehen" in html
    fields = form_fields(html, f"/case/{case.id}/note")
    fields["text"] = "geht nicht"
    other.post(f"/case/{case.id}/note?list=decline", data=fields)
    assert db.session.query(CaseEvent).filter_by(kind="note").count() == 0
    # "next customer" skips a case somebody else holds
    response = other.get(f"/case/{case.id}/next?list=decline")
    assert response.headers["Location"].startswith("/list/decline")
    with time_machine.travel(utcnow() + timedelta(minutes=6)):
        html = other.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
        assert "Sie können ihn ansehen" not in html
        fields = form_fields(html, f"/case/{case.id}/note")
        fields["text"] = "jetzt geht es"
        other.post(f"/case/{case.id}/note?list=decline", data=fields)
    assert db.session.query(CaseEvent).filter_by(kind="note").count() == 1


def test_next_customer_keeps_sort_and_filters(client, login_as, build):
    login_as("sales")
    a, b = _company(build, "Firma A"), _company(build, "Firma B")
    first = _case(build, a, last_name="Anton")
    second = _case(build, a, last_name="Berta")
    _case(build, b, last_name="Caesar")
    url = f"/case/{first.id}/next?list=decline&company={a.id}&sort=name"
    response = client.get(url)
    assert response.headers["Location"].startswith(f"/case/{second.id}?")
    assert f"company={a.id}" in response.headers["Location"]
    last = client.get(f"/case/{second.id}/next?list=decline&company={a.id}&sort=name")
    assert last.headers["Location"].startswith("/list/decline")
    assert "letzte Kunde" in client.get(last.headers["Location"]).get_data(as_text=True)


def test_sales_user_of_one_company_sees_nothing_of_another(client, login_as, build):
    a, b = _company(build, "Firma A"), _company(build, "Firma B")
    mine = _case(build, a, last_name="Meiner")
    theirs = _case(build, b, last_name="Fremder")
    login_as("sales", company_id=a.id)
    listing = client.get("/list/decline").get_data(as_text=True)
    assert "Meiner" in listing and "Fremder" not in listing and "Firma B" not in listing
    assert client.get(f"/case/{theirs.id}").status_code == 404
    assert client.get(f"/case/{mine.id}").status_code == 200
    assert "Fremder" not in client.get("/list/decline/export.csv").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert home.split('data-tile="decline"')[1].split('class="tile-count">')[1].startswith("1<")


def test_admin_action_log_filters_by_user(client, login_as, build, db):
    case = _case(build, _company(build))
    anna = make_user("sales", name="Anna")
    bert = make_user("sales", name="Bert")
    db.session.add_all(
        [
            CaseEvent(case_id=case.id, user_id=anna.id, kind="note", text="von Anna"),
            CaseEvent(case_id=case.id, user_id=bert.id, kind="note", text="von Bert"),
        ]
    )
    db.session.commit()
    login_as("admin")
    html = client.get(f"/admin/actions?user={anna.id}").get_data(as_text=True)
    assert "von Anna" in html and "von Bert" not in html
    future = (utcnow() + timedelta(days=2)).date().isoformat()
    assert "von Anna" not in client.get(f"/admin/actions?from={future}").get_data(as_text=True)


def test_sms_from_the_case_page(client, login_as, build, db):
    login_as("sales")
    company = _company(build, sms_sender="Gartenwelt")
    case = _case(build, company, mobile="0171 2345678", first_name="Erika")
    response, _ = _act(client, case, "sms", text='Hallo {{var:vorname:"Kundin"}}, 10 % Rabatt!')
    assert response.status_code == 302
    message = db.session.query(Message).one()
    assert message.channel == "sms" and message.to_address == "+491712345678"
    assert message.body.startswith("Hallo Erika, 10 % Rabatt!\nAbmelden: http://127.0.0.1:5000/p/")
    assert message.state == "outbox" and message.from_address == "Gartenwelt"
    assert db.session.get(Case, case.id).status == "contacted"


def test_history_names_the_sms_and_the_email_template_in_words(client, login_as, build, db):
    login_as("sales")
    case = _case(build, _company(build, sms_sender="Gartenwelt"), mobile="0171 2345678")
    _act(client, case, "sms", text="Hallo")
    _act(client, case, "email", template_kind="voucher")
    history = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    assert "hat eine SMS gesendet" in history
    assert "hat eine E-Mail gesendet (Gutschein)" in history
    assert "(voucher)" not in history
    assert 'Nachricht SMS → +491712345678 <span class="badge">im Postausgang</span>' in history
    assert ">outbox<" not in history
    # the reminder periods in proper German
    assert ">in 1 Tag</option>" in history and ">in 3 Tagen</option>" in history


def test_sms_refused_without_mobile(client, login_as, build, db):
    login_as("sales")
    case = _case(build, _company(build, sms_sender="Gartenwelt"), mobile=None)
    html = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    assert "keine Mobilnummer" in html
    _act(client, case, "sms", text="Hallo")
    assert db.session.query(Message).count() == 0


def test_case_page_links_into_the_wawi(client, login_as, build, db):
    from recovery.models import ConnectorConfig

    db.session.add(
        ConnectorConfig(
            name="test",
            kind="csv",
            customer_url="https://wawi.example/kunden/{number}",
            order_url="https://wawi.example/auftraege/{number}",
            product_url="https://wawi.example/artikel/{sku}",
        )
    )
    db.session.commit()
    login_as("sales")
    case = _case(build, _company(build), number="K-9")
    order = db.session.query(Order).filter_by(customer_id=case.customer_id).one()
    html = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    assert 'href="https://wawi.example/kunden/K-9"' in html
    assert f'href="https://wawi.example/auftraege/{order.number}"' in html
    assert f'href="https://wawi.example/artikel/{order.lines[0].sku}"' in html


def test_cancelled_export_leaves_the_session_usable(client, login_as, build, db):
    """A download broken off mid-way (the browser closed) ends cleanly."""
    from recovery.cases import export, lists

    user = login_as("sales")
    company = _company(build, "Firma A")
    for i in range(5):
        _case(build, company, last_name=f"Kunde{i}")
    stmt = lists.ordered_rows(lists.ListQuery(), user, *export.COLUMNS)
    everything = [row.last_name for chunk in export.chunks(stmt, size=2) for row in chunk]
    assert len(everything) == 5
    chunks = export.chunks(stmt, size=2)
    assert len(next(chunks)) == 2
    chunks.close()
    assert db.session.query(Case).count() == 5  # the next statement works


def test_read_only_pages_leave_the_connection_transactional(client, login_as, build, db):
    """Tiles and lists read without a transaction; the pooled connection gets it back."""
    from recovery.models import Customer

    customer = build.customer()
    login_as("sales")
    for _ in range(3):
        assert client.get("/").status_code == 200
        assert client.get("/list/decline").status_code == 200
    customer.city = "Bonn"
    db.session.flush()
    db.session.rollback()  # undone: the write ran inside a transaction
    assert db.session.get(Customer, customer.id).city == "Köln"


def test_sort_links_are_the_urls_url_for_builds(app):
    """The list builds its 12 sort links without url_for's routing, to the same URLs."""
    from flask import url_for

    from recovery.cases import lists
    from recovery.queue.routes import list_url

    args = {"sort": "name", "company": "2", "customer_group": "Händler & Co/Ost",
            "q": "a+b %_ 'x' @ü?", "assigned": "3", "page": "4"}  # fmt: skip
    with app.test_request_context("/"):
        for query in (
            lists.ListQuery.from_args("decline", {}),
            lists.ListQuery.from_args("reminders", args),
        ):
            url = list_url(query)
            for key in lists.SORTS:
                for changes in ({"sort": query.toggled(key), "page": 1}, {"page": 2}, {}):
                    expected = url_for("queue.case_list", tile=query.tile, **query.args(**changes))
                    assert url(**changes) == expected


def test_my_reminders_lists_what_i_set_by_day_and_admins_see_everyones(
    app, client, login_as, build, db
):
    company = _company(build)
    mine_soon = _case(build, company, last_name="Bald")
    mine_later = _case(build, company, last_name="Später")
    theirs = _case(build, company, last_name="Fremd")
    with time_machine.travel(utc(2026, 3, 2, 9, 0), tick=False):
        me = login_as("sales", name="Sina Sales")
        _act(client, mine_later, "remind", days="30")
        _act(client, mine_soon, "remind", days="3")
        other = app.test_client()
        colleague = make_user("sales", name="Kai Kollege")
        page = other.get("/login").get_data(as_text=True)
        other.post("/login", data={"email": colleague.email, "password": PASSWORD,
                                   "csrf_token": csrf_from(page)})  # fmt: skip
        page = other.get(f"/case/{theirs.id}?list=decline").get_data(as_text=True)
        other.post(
            f"/case/{theirs.id}/remind?list=decline",
            data={**form_fields(page, f"/case/{theirs.id}/remind"), "days": "3"},
        )
        html = client.get("/reminders").get_data(as_text=True)
        assert "Meine Wiedervorlagen" in html
        assert html.index("05.03.2026") < html.index("Bald") < html.index("01.04.2026")
        assert html.index("01.04.2026") < html.index("Später")
        assert "Fremd" not in html  # set by a colleague
        assert "Von allen" not in html  # sales users see their own only
        assert "Fremd" not in client.get("/reminders?who=all").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, theirs.id).status == "reminder"
    login_as("admin")
    everyone = client.get("/reminders?who=all").get_data(as_text=True)
    assert "Alle Wiedervorlagen" in everyone and "Fremd" in everyone and "Kai Kollege" in everyone
    assert me.name in everyone


def test_my_reminders_names_tomorrow(client, login_as, build, db):
    """The salesperson checking tomorrow's calls finds them under "Morgen"."""
    company = _company(build)
    tomorrow = _case(build, company, last_name="Morgig")
    later = _case(build, company, last_name="Später")
    with time_machine.travel(utc(2026, 3, 2, 9, 0), tick=False):
        login_as("sales", name="Sina Sales")
        _act(client, tomorrow, "remind", days="1")
        _act(client, later, "remind", days="3")
        html = client.get("/reminders").get_data(as_text=True)
    assert "Morgen · 03.03.2026" in html
    assert html.index("Morgen · 03.03.2026") < html.index("Morgig") < html.index("05.03.2026")
    assert "Morgen · 05.03.2026" not in html


def test_no_interest_can_be_undone_for_ten_seconds_and_reopened_later(client, login_as, build, db):
    case = _case(build, _company(build), last_name="Zweifel")
    with time_machine.travel(utc(2026, 3, 2, 9, 0, 0), tick=False):
        login_as("sales", name="Sina Sales")
        _act(client, case, "remind", days="3")
        db.session.expire_all()
        assert db.session.get(Case, case.id).status == "reminder"
    with time_machine.travel(utc(2026, 3, 6, 9, 0, 0), tick=False):  # the reminder is due
        _act(client, case, "no-interest")
        db.session.expire_all()
        closed = db.session.get(Case, case.id)
        assert closed.status == "no_interest" and closed.closed_at is not None
        assert closed.customer.no_interest_until is not None
        page = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
        assert "Doch nicht?" in page and ">Rückgängig</button>" in page
    with time_machine.travel(utc(2026, 3, 6, 9, 0, 11), tick=False):  # 11 s later
        page = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
        assert ">Rückgängig</button>" not in page
        assert ">Fall wieder öffnen</button>" in page  # on a closed case, any time
        fields = form_fields(page, f"/case/{case.id}/reopen")
        response = client.post(f"/case/{case.id}/reopen?list=decline", data=fields)
        assert response.status_code == 302
        again = client.post(f"/case/{case.id}/reopen?list=decline", data=fields)  # resent
        assert again.status_code == 302
        db.session.expire_all()
        reopened = db.session.get(Case, case.id)
        assert (reopened.status, reopened.closed_at) == ("reminder", None)  # as it was
        assert reopened.customer.no_interest_until is None
        kinds = [e.kind for e in db.session.query(CaseEvent).filter_by(case_id=case.id)]
        assert kinds.count("reopened") == 1 and kinds.count("no_interest") == 1
        page = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
        assert "hat den Fall wieder geöffnet" in page
        assert ">Fall wieder öffnen</button>" not in page  # open again


def test_a_case_cannot_be_reopened_beside_an_open_one_of_its_kind(client, login_as, build, db):
    login_as("sales")
    company = _company(build)
    customer = build.customer()
    old = build.case(customer, company, status="no_interest", closed_at=utcnow())
    build.case(customer, company)  # the analysis opened a new one meanwhile
    page = client.get(f"/case/{old.id}?list=decline").get_data(as_text=True)
    fields = form_fields(page, f"/case/{old.id}/reopen")
    response = client.post(
        f"/case/{old.id}/reopen?list=decline", data=fields, follow_redirects=True
    )
    assert "bereits einen offenen Fall dieser Art" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, old.id).closed_at is not None


def test_sorting_by_name_goes_by_surname_then_first_name_then_company(client, login_as, build):
    login_as("sales")
    company = _company(build)

    def case(first, last, firm):
        return _case(build, company, first_name=first, last_name=last, company_name=firm).id

    bernd = case("Bernd", "Müller", None)
    bach = case("Anna", "Müllerbach", None)
    gmbh = case(None, None, "Müller GmbH")
    zeta = case("Anna", "Müller", "Zeta AG")
    alpha = case("Anna", "Müller", "Alpha KG")
    abel = case("Carl", "Abel", None)
    html = client.get("/list/decline?sort=name").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'href="/case/(\d+)\?', html)]
    assert shown == [abel, alpha, zeta, bernd, gmbh, bach]
    backwards = client.get("/list/decline?sort=-name").get_data(as_text=True)
    assert [int(i) for i in re.findall(r'href="/case/(\d+)\?', backwards)] == shown[::-1]

"""The thin path in route tests: list, case page, note, no interest, email to the outbox."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from recovery.models import Case, CaseEvent, Customer, Message, utcnow
from tests.conftest import form_fields


def _company(build, **fields):
    values = {
        "sender_email": "service@gartenwelt.example",
        "sender_name": "Gartenwelt",
        "standard_template_id": 6100001,
        "voucher_template_id": 6100002,
        "offer_email": "angebote@gartenwelt.example",
        "shop_url": "https://shop.gartenwelt.example/",
    }
    values.update(fields)
    return build.company(**values)


def _case_with_history(build, **customer_fields):
    company = _company(build)
    customer = build.customer(**customer_fields)
    now = utcnow()
    build.order(customer, now - timedelta(days=400), "800.00", "Dünger", company)
    build.order(customer, now - timedelta(days=90), "120.50", "Saatgut", company)
    return build.case(customer, company), company


def test_decline_list_is_sorted_by_revenue_at_risk(client, login_as, build):
    login_as("sales")
    low = build.case(build.customer(last_name="Klein"), revenue_at_risk=Decimal("100"))
    high = build.case(build.customer(last_name="Groß"), revenue_at_risk=Decimal("5000"))
    html = client.get("/list/decline").get_data(as_text=True)
    assert html.index(f"/case/{high.id}?") < html.index(f"/case/{low.id}?")


def test_case_page_shows_customer_orders_and_reason(client, login_as, build):
    login_as("sales")
    case, _ = _case_with_history(build, last_name="Özdemir")
    html = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    assert "Özdemir" in html
    assert "Umsatz 4.200 € gegenüber 9.800 €" in html
    assert "120,50\xa0€" in html  # the order, in German money format
    assert "Gartenwelt GmbH" in html


def _post(client, case, action, fragment_data=None, **data):
    page = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    fields = form_fields(page, f"/case/{case.id}/{action}")
    fields.update(data)
    return client.post(f"/case/{case.id}/{action}?list=decline", data=fields), fields


def test_note_is_recorded_with_who_and_when(client, login_as, build, db):
    user = login_as("sales", name="Sven Sales")
    case, _ = _case_with_history(build)
    response, _ = _post(client, case, "note", text="Ruft nächste Woche zurück")
    assert response.status_code == 302
    event = db.session.query(CaseEvent).filter_by(case_id=case.id, kind="note").one()
    assert event.user_id == user.id and event.text == "Ruft nächste Woche zurück"
    assert abs((utcnow() - event.created_at).total_seconds()) < 60
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ruft nächste Woche zurück" in html and "Sven Sales" in html


def test_resent_note_form_saves_one_note(client, login_as, build, db):
    login_as("sales")
    case, _ = _case_with_history(build)
    _, fields = _post(client, case, "note", text="Nur einmal")
    again = client.post(f"/case/{case.id}/note?list=decline", data=fields)
    assert again.status_code == 302
    assert db.session.query(CaseEvent).filter_by(case_id=case.id, kind="note").count() == 1


def test_no_interest_closes_case_and_keeps_customer_out(client, login_as, build, db):
    user = login_as("sales")
    case, _ = _case_with_history(build)
    response, _ = _post(client, case, "no-interest", text="Hat den Betrieb aufgegeben")
    assert response.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.status == "no_interest" and case.closed_at is not None
    assert case.customer.no_interest_until > utcnow() + timedelta(days=30)
    event = db.session.query(CaseEvent).filter_by(case_id=case.id, kind="no_interest").one()
    assert event.user_id == user.id


def test_send_email_puts_message_with_variables_into_outbox(client, login_as, build, db):
    user = login_as("sales", name="Sven Sales")
    case, company = _case_with_history(
        build, first_name="Erika", last_name="Mustermann", number="K-4711", city="Köln"
    )
    response, _ = _post(client, case, "email", template_kind="voucher")
    assert response.status_code == 302
    message = db.session.query(Message).one()
    assert message.state == "outbox"  # no Mailjet keys in tests: nothing leaves the app
    assert message.template_id == company.voucher_template_id
    assert message.from_address == "service@gartenwelt.example"
    v = message.variables
    assert v["vorname"] == "Erika" and v["nachname"] == "Mustermann"
    assert v["kundennummer"] == "K-4711" and v["ort"] == "Köln"
    assert v["letzte_warengruppe"] == "Saatgut"
    assert v["letzte_bestellung_tage"] in ("89", "90", "91")
    assert v["betreuer"] == "Sven Sales"
    assert v["abmeldelink"].startswith("http://127.0.0.1:5000/p/unsubscribe/")
    assert db.session.get(Case, case.id).status == "contacted"
    event = db.session.query(CaseEvent).filter_by(case_id=case.id, kind="email").one()
    assert event.user_id == user.id and event.data["message_id"] == message.id


def test_email_refused_without_consent(client, login_as, build, db):
    login_as("sales")
    case, _ = _case_with_history(build, marketing_consent=False)
    response, _ = _post(client, case, "email", template_kind="standard")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "keine Werbeeinwilligung" in html or "no marketing consent" in html
    assert db.session.query(Message).count() == 0
    assert db.session.get(Case, case.id).status == "new"


def test_email_refused_without_address(client, login_as, build, db):
    login_as("sales")
    case, _ = _case_with_history(build, email=None)
    _post(client, case, "email", template_kind="standard")
    assert db.session.query(Message).count() == 0


def test_admin_sees_the_outbox(client, login_as, build, db):
    case, company = _case_with_history(build, last_name="Outboxer")
    db.session.add(
        Message(
            customer_id=case.customer_id,
            case_id=case.id,
            company_id=company.id,
            purpose="queue",
            to_address="o@example.de",
            to_name="Erika Outboxer",
            template_id=6100001,
            template_kind="standard",
            state="outbox",
            variables={"vorname": "Erika"},
        )
    )
    db.session.commit()
    login_as("admin")
    html = client.get("/admin/outbox").get_data(as_text=True)
    assert "o@example.de" in html and "6100001" in html


def test_unsubscribe_link_blocks_email(client, build, db):
    from recovery.messaging.outbox import unsubscribe_url

    customer = build.customer()
    url = unsubscribe_url(customer, "email")
    path = url.replace("http://127.0.0.1:5000", "")
    assert client.post(path).status_code == 200
    assert db.session.get(Customer, customer.id).blocked_channels() == {"email": "unsubscribed"}
    tampered = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    assert client.post(tampered).status_code == 404

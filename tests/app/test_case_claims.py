"""Claims (issue 13 item 12, issue 16 item 2): viewing a case claims nothing; starting
an action (a POST) does; a colleague sees who is working on it and can take it over
with one click, recorded in the history; "next customer" still skips held cases."""

from __future__ import annotations

from datetime import timedelta

from recovery.models import Case, CaseEvent, utcnow
from tests.conftest import PASSWORD, csrf_from, form_fields, make_user


def _case(build, **fields):
    company = build.company(f"Firma {build._next()}")
    customer = build.customer(**fields)
    build.order(customer, utcnow() - timedelta(days=120), "300.00", "Dünger", company)
    return build.case(customer, company)


def _second_client(app, name: str):
    other = app.test_client()
    user = make_user("sales", name=name)
    token = csrf_from(other.get("/login").get_data(as_text=True))
    other.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    return other, user


def _start_action(client, case) -> int:
    """What the case page's script does when the user starts an action."""
    html = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    token = csrf_from(html)
    return client.post(f"/case/{case.id}/claim", data={"csrf_token": token}).status_code


def test_viewing_a_case_claims_nothing(client, login_as, build, db):
    login_as("sales")
    case = _case(build)
    for _ in range(2):  # also when another site links here
        response = client.get(f"/case/{case.id}", headers={"Referer": "https://evil.example/"})
        assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Case, case.id).claimed_by_id is None


def test_a_get_cannot_claim_and_the_claim_post_needs_its_csrf_token(client, login_as, build, db):
    login_as("sales")
    case = _case(build)
    assert client.get(f"/case/{case.id}/claim").status_code == 405
    assert client.post(f"/case/{case.id}/claim").status_code == 400
    db.session.expire_all()
    assert db.session.get(Case, case.id).claimed_by_id is None


def test_starting_an_action_claims_and_a_colleague_takes_over(app, client, login_as, build, db):
    case = _case(build)
    first = login_as("sales", name="Erste")
    assert _start_action(client, case) == 204
    other, second = _second_client(app, "Zweite")
    assert _start_action(other, case) == 409  # held by Erste

    html = other.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    assert "Erste bearbeitet diesen Fall gerade" in html
    fields = form_fields(html, f"/case/{case.id}/note")
    other.post(f"/case/{case.id}/note?list=decline", data={**fields, "text": "geht nicht"})
    assert db.session.query(CaseEvent).filter_by(kind="note").count() == 0

    takeover = form_fields(html, f"/case/{case.id}/takeover")
    response = other.post(f"/case/{case.id}/takeover?list=decline", data=takeover)
    assert response.status_code == 302
    html = other.get(response.headers["Location"]).get_data(as_text=True)
    assert "Sie haben diesen Fall übernommen." in html
    assert "hat den Fall von Erste übernommen" in html
    assert "Sie können ihn ansehen" not in html  # no banner any more
    db.session.expire_all()
    assert db.session.get(Case, case.id).claimed_by_id == second.id
    event = db.session.query(CaseEvent).filter_by(kind="takeover").one()
    assert (event.user_id, event.data["from_user_id"]) == (second.id, first.id)
    # the same form again changes nothing
    other.post(f"/case/{case.id}/takeover?list=decline", data=takeover)
    assert db.session.query(CaseEvent).filter_by(kind="takeover").count() == 1

    # now Erste is the one who looks on
    html = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    assert "Zweite bearbeitet diesen Fall gerade" in html
    fields = form_fields(other.get(f"/case/{case.id}").get_data(as_text=True), "/note")
    other.post(f"/case/{case.id}/note?list=decline", data={**fields, "text": "übernommen"})
    assert db.session.query(CaseEvent).filter_by(kind="note").count() == 1


def test_an_action_claims_for_its_author(app, client, login_as, build, db):
    case = _case(build)
    login_as("sales", name="Erste")
    html = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    fields = form_fields(html, f"/case/{case.id}/note")
    client.post(f"/case/{case.id}/note?list=decline", data={**fields, "text": "angerufen"})
    other, _ = _second_client(app, "Zweite")
    assert "Erste bearbeitet diesen Fall gerade" in other.get(f"/case/{case.id}").text


def test_next_customer_skips_a_case_a_colleague_has_started(app, client, login_as, build, db):
    first = _case(build, last_name="Anton")
    second = _case(build, last_name="Berta")
    third = _case(build, last_name="Caesar")
    login_as("sales", name="Erste")
    other, _ = _second_client(app, "Zweite")
    assert other.get(f"/case/{second.id}?list=decline&sort=name").status_code == 200
    # only looked at: Berta is next for Erste as well
    response = client.get(f"/case/{first.id}/next?list=decline&sort=name")
    assert response.headers["Location"].startswith(f"/case/{second.id}?")
    assert _start_action(other, second) == 204
    response = client.get(f"/case/{first.id}/next?list=decline&sort=name")
    assert response.headers["Location"].startswith(f"/case/{third.id}?")


def _post(client, case, action: str):
    token = csrf_from(client.get(f"/case/{case.id}?list=decline").get_data(as_text=True))
    return client.post(f"/case/{case.id}/{action}", data={"csrf_token": token})


def test_who_has_the_case_open_is_shown_to_the_others_by_the_heartbeat(
    app, client, login_as, build, db
):
    case = _case(build)
    login_as("sales", name="Erste")
    other, _ = _second_client(app, "Zweite")
    # opening the page (a GET) records nothing; the page's heartbeat (a POST) does
    other.get(f"/case/{case.id}?list=decline")
    assert "sieht sich diesen Fall gerade an" not in client.get(f"/case/{case.id}").text
    response = _post(other, case, "here")
    assert response.status_code == 200
    assert response.json == {"viewers": ""}  # nobody else is looking yet
    html = client.get(f"/case/{case.id}").text
    assert "Zweite sieht sich diesen Fall gerade an." in html
    assert _post(client, case, "here").json == {
        "viewers": "Zweite sieht sich diesen Fall gerade an."
    }
    assert _post(other, case, "here").json == {"viewers": "Erste sieht sich diesen Fall gerade an."}
    db.session.expire_all()
    assert db.session.get(Case, case.id).claimed_by_id is None  # looking claims nothing

    third, _ = _second_client(app, "Dritte")
    assert _post(third, case, "here").json == {
        "viewers": "Erste, Zweite sehen sich diesen Fall gerade an."
    }


def test_a_viewer_who_stopped_sending_heartbeats_is_no_longer_shown(
    app, client, login_as, build, db
):
    from recovery.models import CaseViewer

    case = _case(build)
    login_as("sales", name="Erste")
    other, second = _second_client(app, "Zweite")
    _post(other, case, "here")
    row = db.session.get(CaseViewer, (case.id, second.id))
    row.seen_at = utcnow() - timedelta(seconds=80)
    db.session.commit()
    assert "Zweite sieht sich" not in client.get(f"/case/{case.id}").text
    assert _post(client, case, "here").json == {"viewers": ""}


def test_the_heartbeat_and_the_leave_post_need_a_post_and_the_csrf_token(
    client, login_as, build, db
):
    from recovery.models import CaseViewer

    login_as("sales")
    case = _case(build)
    for action in ("here", "leave"):
        assert client.get(f"/case/{case.id}/{action}").status_code == 405
        assert client.post(f"/case/{case.id}/{action}").status_code == 400
    assert db.session.query(CaseViewer).count() == 0


def test_leaving_the_page_releases_the_claim_and_ends_the_presence(
    app, client, login_as, build, db
):
    case = _case(build)
    login_as("sales", name="Erste")
    assert _start_action(client, case) == 204
    _post(client, case, "here")
    other, _ = _second_client(app, "Zweite")
    html = other.get(f"/case/{case.id}").text
    assert "Erste bearbeitet diesen Fall gerade" in html
    assert "Erste sieht sich" not in html  # the holder has a banner of its own
    # a colleague's leave post releases nothing of Erste's
    assert _post(other, case, "leave").status_code == 204
    db.session.expire_all()
    assert db.session.get(Case, case.id).claimed_by_id is not None

    assert _post(client, case, "leave").status_code == 204  # Erste's page is left
    db.session.expire_all()
    assert db.session.get(Case, case.id).claimed_by_id is None
    html = other.get(f"/case/{case.id}").text
    assert "bearbeitet diesen Fall gerade" not in html
    assert "Erste sieht sich" not in html
    assert _start_action(other, case) == 204


def test_a_restricted_user_cannot_signal_presence_on_another_companys_case(
    client, login_as, build, db
):
    from recovery.models import CaseViewer

    case = _case(build)
    mine = build.company("Eigene Firma")
    login_as("sales", company_id=mine.id)
    token = csrf_from(client.get("/").get_data(as_text=True))
    for action in ("here", "leave"):
        response = client.post(f"/case/{case.id}/{action}", data={"csrf_token": token})
        assert response.status_code == 404
    assert db.session.query(CaseViewer).count() == 0

"""Login, roles, CSRF, safe redirects, throttling and language switching (S1)."""

from __future__ import annotations

import pytest

from recovery.security import safe_next
from tests.conftest import PASSWORD, csrf_from, make_user


def _login(client, email, password, **extra):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, **extra}
    )


@pytest.mark.parametrize("path", ["/", "/list/decline", "/admin/outbox", "/overview/"])
def test_every_page_but_login_needs_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_login_with_right_password_and_wrong_one(client, db):
    user = make_user("sales", email="vera@test.example")
    bad = _login(client, "vera@test.example", "wrong-password")
    assert bad.status_code == 200
    assert "Email or password is wrong" in bad.get_data(as_text=True) or (
        "E-Mail oder Passwort" in bad.get_data(as_text=True)
    )
    good = _login(client, "VERA@test.example", PASSWORD)
    assert good.status_code == 302 and good.headers["Location"] == "/"
    assert db.session.get(type(user), user.id).last_login_at is not None


def test_password_is_stored_hashed(db):
    user = make_user("sales")
    assert PASSWORD not in user.password_hash
    assert user.check_password(PASSWORD) and not user.check_password("nope")


def test_sales_user_gets_403_on_admin_pages(client, login_as):
    login_as("sales")
    for path in ("/admin/", "/admin/outbox", "/admin/outbox/1"):
        assert client.get(path).status_code == 403, path


def test_admin_opens_admin_pages(client, login_as):
    login_as("admin")
    assert client.get("/admin/outbox").status_code == 200


def test_post_without_csrf_token_is_refused(client, login_as, build):
    login_as("sales")
    case = build.case(build.customer())
    response = client.post(f"/case/{case.id}/note", data={"text": "hi", "token": "x"})
    assert response.status_code == 400
    assert db_notes(case) == 0


def db_notes(case) -> int:
    from recovery.extensions import db
    from recovery.models import CaseEvent

    return db.session.query(CaseEvent).filter_by(case_id=case.id, kind="note").count()


def test_login_without_csrf_token_is_refused(client, db):
    make_user("sales", email="x@test.example")
    response = client.post("/login", data={"email": "x@test.example", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # nobody is logged in


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "http:/evil", "\\\\evil.example", "javascript:x"],
)
def test_unknown_next_host_is_ignored(client, db, target):
    make_user("sales", email="n@test.example")
    response = _login(client, "n@test.example", PASSWORD, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_local_next_is_followed(client, db):
    make_user("sales", email="l@test.example")
    response = _login(client, "l@test.example", PASSWORD, next="/list/contacted?sort=name")
    assert response.headers["Location"] == "/list/contacted?sort=name"


def test_safe_next_rules():
    assert safe_next("/case/3?list=decline") == "/case/3?list=decline"
    assert safe_next("https://example.com/") is None
    assert safe_next("//example.com") is None
    assert safe_next("/\\example.com") is None
    assert safe_next("") is None


def test_inactive_user_cannot_log_in(client, db):
    make_user("sales", email="off@test.example", is_active_user=False)
    assert _login(client, "off@test.example", PASSWORD).status_code == 200


def test_german_by_default_and_switchable_per_user(client, login_as, db):
    user = login_as("sales")
    home = client.get("/").get_data(as_text=True)
    assert "Noch keine Kunden" in home and 'lang="de"' in home
    token = csrf_from(home)
    client.post("/locale", data={"locale": "en", "csrf_token": token, "next": "/"})
    assert db.session.get(type(user), user.id).locale == "en"
    english = client.get("/").get_data(as_text=True)
    assert "No customers yet" in english and 'lang="en"' in english


def test_security_headers_and_cookie_flags(client, db):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]

"""Admin → Users: create with a password shown once, change role and company
restriction, deactivate (never delete), reset a password; the last active admin stays."""

from __future__ import annotations

import re

from sqlalchemy import select

from recovery.models import User
from tests.conftest import PASSWORD, csrf_from, make_user


def _log_in(app, email: str, password: str):
    other = app.test_client()
    page = other.get("/login").get_data(as_text=True)
    response = other.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_from(page)}
    )
    return other, response


def _password_from(html: str) -> str:
    return re.search(r'<code class="password" id="password">([^<]+)</code>', html).group(1)


def test_admin_creates_a_sales_user_who_logs_in_with_the_password_shown_once(
    app, client, db, build, login_as
):
    company = build.company("Gartenwelt GmbH")
    login_as("admin")
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert "Sieht die Kunden von" in page and "Gartenwelt GmbH" in page
    response = client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf_from(page),
            "email": "Neu@Firma.example",
            "name": "Nora Neu",
            "role": "sales",
            "company": str(company.id),
            "active": "y",
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    password = _password_from(html)
    assert len(password) >= 16 and "nur einmal" in html.lower()
    user = db.session.scalars(select(User).where(User.email == "neu@firma.example")).one()
    assert (user.role, user.company_id, user.is_active_user) == ("sales", company.id, True)
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "Nora Neu" in listing and "Gartenwelt GmbH" in listing and "nie" in listing
    assert password not in listing  # shown once only
    _, login = _log_in(app, "neu@firma.example", password)
    assert login.status_code == 302

    again = client.post(
        "/admin/users/new",
        data={"csrf_token": csrf_from(page), "email": "neu@firma.example", "name": "X",
              "role": "sales", "company": "", "active": "y"},
    ).get_data(as_text=True)  # fmt: skip
    assert "E-Mail-Adresse: Es gibt schon einen Benutzer mit dieser Adresse." in again
    assert db.session.scalar(select(User.id).where(User.name == "X")) is None


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(client, db, login_as):
    admin = login_as("admin")
    page = client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    for change in ({"role": "sales", "active": "y"}, {"role": "admin"}):
        response = client.post(
            f"/admin/users/{admin.id}",
            data={"csrf_token": csrf_from(page), "name": admin.name, "company": "", **change},
            follow_redirects=True,
        )
        assert "der letzte aktive Administrator" in response.get_data(as_text=True)
        db.session.refresh(admin)
        assert (admin.role, admin.is_active_user) == ("admin", True)
    second = make_user("admin", name="Zweite Admin")
    client.post(
        f"/admin/users/{second.id}",
        data={"csrf_token": csrf_from(page), "name": second.name, "role": "sales",
              "company": "", "active": "y"},
    )  # fmt: skip
    db.session.refresh(second)
    assert second.role == "sales"  # another active admin is left: allowed


def test_deactivating_and_resetting_end_the_users_sessions(app, client, db, login_as):
    login_as("admin")
    sales = make_user("sales", name="Sven Sales")
    theirs, login = _log_in(app, sales.email, PASSWORD)
    assert login.status_code == 302 and theirs.get("/").status_code == 200

    page = client.get(f"/admin/users/{sales.id}").get_data(as_text=True)
    reset = client.post(
        f"/admin/users/{sales.id}/password", data={"csrf_token": csrf_from(page)}
    ).get_data(as_text=True)
    password = _password_from(reset)
    assert theirs.get("/").status_code == 302  # logged out
    assert _log_in(app, sales.email, PASSWORD)[1].status_code != 302
    theirs, login = _log_in(app, sales.email, password)
    assert login.status_code == 302

    client.post(
        f"/admin/users/{sales.id}",
        data={"csrf_token": csrf_from(page), "name": "Sven Sales", "role": "sales", "company": ""},
    )  # fmt: skip  (no "active": the box unticked)
    db.session.refresh(sales)
    assert sales.is_active_user is False
    assert theirs.get("/").status_code == 302
    assert _log_in(app, sales.email, password)[1].status_code != 302
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "Sven Sales" in listing and "deaktiviert" in listing  # kept, not deleted


def test_sales_users_cannot_manage_users(client, login_as):
    login_as("sales")
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/new").status_code == 403
    assert client.post("/admin/users/1/password").status_code in (400, 403)

"""Hardening (issue 13 item 12): HSTS in production, no caching of pages and exports
with personal data, reminder dates in a sensible range."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recovery import create_app
from recovery.models import Case, CaseEvent, business_tz, utcnow
from tests.conftest import form_fields


def _production_app(database_url, tmp_path):
    return create_app(
        "production",
        SECRET_KEY="x" * 40,
        SQLALCHEMY_DATABASE_URI=database_url,
        PUBLIC_BASE_URL="https://winback.example",
        UPLOAD_FOLDER=str(tmp_path),
    )


def test_production_sends_hsts_and_development_does_not(app, db, database_url, tmp_path):
    production = _production_app(database_url, tmp_path).test_client()
    response = production.get("/login", base_url="https://winback.example")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers


@pytest.mark.parametrize(
    "url", ["/", "/list/decline", "/list/decline/export.csv", "/groups/", "/overview/", "/login"]
)
def test_pages_and_exports_are_not_stored_by_browsers_or_proxies(client, login_as, url):
    if url != "/login":
        login_as("sales")
    response = client.get(url)
    response.get_data()
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_the_case_page_is_not_stored(client, login_as, build):
    login_as("sales")
    case = build.case(build.customer())
    assert client.get(f"/case/{case.id}").headers["Cache-Control"] == "no-store"


def test_static_assets_may_be_cached(client):
    response = client.get("/static/js/app.js")
    assert "no-store" not in response.headers.get("Cache-Control", "")
    response.close()


def _remind(client, case, on):
    html = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    fields = form_fields(html, f"/case/{case.id}/remind")
    fields.update(days="10", on=on.isoformat())
    response = client.post(f"/case/{case.id}/remind?list=decline", data=fields)
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_reminder_date_lies_between_tomorrow_and_two_years_ahead(client, login_as, build, db):
    login_as("sales")
    case = build.case(build.customer())
    today = utcnow().astimezone(business_tz()).date()
    html = _remind(client, case, today.replace(year=today.year + 3))
    assert "Das Erinnerungsdatum darf höchstens zwei Jahre in der Zukunft liegen." in html
    html = _remind(client, case, today.replace(year=9999, month=12, day=31))
    assert "höchstens zwei Jahre" in html
    assert db.session.query(CaseEvent).count() == 0
    assert db.session.get(Case, case.id).status == "new"
    _remind(client, case, today + timedelta(days=700))
    assert db.session.get(Case, case.id).status == "reminder"

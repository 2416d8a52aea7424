"""The login page: a language switch before logging in, and a favicon for every page."""

from __future__ import annotations

from tests.conftest import csrf_from


def test_the_login_page_switches_language_before_anyone_logs_in(client, db):
    page = client.get("/login").get_data(as_text=True)
    assert 'lang="de"' in page and "Anmelden" in page and ">English</button>" in page
    response = client.post(
        "/locale", data={"locale": "en", "csrf_token": csrf_from(page), "next": "/login"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    english = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in english and "Log in" in english and ">Deutsch</button>" in english
    # no token: refused, nothing switched
    client.post("/locale", data={"locale": "de", "next": "/login"})
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)
    # an outside address as "next" stays on the site
    away = client.post(
        "/locale",
        data={"locale": "de", "csrf_token": csrf_from(english), "next": "//evil.example"},
    )
    assert away.headers["Location"].endswith("/login")


def test_the_favicon_is_served_without_a_login(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.get_data()[:4] == b"\x00\x00\x01\x00"  # an icon file
    response.close()
    assert 'rel="icon"' in client.get("/login").get_data(as_text=True)

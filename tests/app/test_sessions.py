"""Sessions end for real: logout and a password change rotate the user's session token,
so old session and remember-me cookies stop working (#13.5)."""

from __future__ import annotations

from datetime import timedelta

from recovery import create_app
from recovery.models import User
from tests.conftest import PASSWORD, csrf_from, make_user

SESSION = "session"
REMEMBER = "remember_token"


def _login(client, email, password=PASSWORD, remember=True):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    data = {"email": email, "password": password, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data)


def _logged_in(client) -> bool:
    return client.get("/").status_code == 200


def _post(client, path, **data):
    token = csrf_from(client.get("/").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def _copy(app, cookies: dict[str, str]):
    """A new browser holding copies of the given cookies."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value, domain="localhost")
    return other


def _cookie(client, name) -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def test_an_old_session_cookie_stops_working_after_logout(app, client, db):
    make_user("sales", email="vera@test.example")
    assert _login(client, "vera@test.example", remember=False).status_code == 302
    stolen = _cookie(client, SESSION)
    assert _logged_in(_copy(app, {SESSION: stolen}))
    _post(client, "/logout")
    assert not _logged_in(client)
    assert not _logged_in(_copy(app, {SESSION: stolen}))


def test_an_old_remember_cookie_stops_working_after_logout(app, client, db):
    make_user("sales", email="vera@test.example")
    assert _login(client, "vera@test.example").status_code == 302
    remember = _cookie(client, REMEMBER)
    assert _logged_in(_copy(app, {REMEMBER: remember}))  # it works before the logout
    _post(client, "/logout")
    assert not _logged_in(_copy(app, {REMEMBER: remember}))
    assert _login(client, "vera@test.example").status_code == 302
    assert _cookie(client, REMEMBER) != remember  # a new login, a new cookie


def test_a_password_change_ends_every_other_session(app, client, db):
    user = make_user("sales", email="vera@test.example")
    other = app.test_client()
    assert _login(client, "vera@test.example").status_code == 302
    assert _login(other, "vera@test.example").status_code == 302
    other_cookies = {SESSION: _cookie(other, SESSION), REMEMBER: _cookie(other, REMEMBER)}
    changed = _post(
        client,
        "/account/password",
        current="correct-horse-battery",
        new="a-much-better-passphrase",
        repeat="a-much-better-passphrase",
    )
    assert changed.status_code == 302
    assert _logged_in(client), "the browser that changed it stays logged in"
    assert not _logged_in(other)
    assert not _logged_in(_copy(app, {REMEMBER: other_cookies[REMEMBER]}))
    assert not _logged_in(_copy(app, {SESSION: other_cookies[SESSION]}))
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert stored.check_password("a-much-better-passphrase")
    assert _login(app.test_client(), "vera@test.example").status_code == 200  # old one


def test_a_password_change_needs_the_current_password_and_a_good_new_one(app, client, db):
    user = make_user("sales", email="vera@test.example")
    assert _login(client, "vera@test.example").status_code == 302
    for current, new, repeat in (
        ("wrong-password", "a-much-better-passphrase", "a-much-better-passphrase"),
        (PASSWORD, "short", "short"),
        (PASSWORD, "a-much-better-passphrase", "a-different-passphrase"),
    ):
        refused = _post(client, "/account/password", current=current, new=new, repeat=repeat)
        assert refused.status_code == 200
        assert _logged_in(client)
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(PASSWORD)


def test_a_session_from_before_the_tokens_is_logged_out_without_an_error(app, client, db):
    user = make_user("sales", email="vera@test.example")
    for old in (str(user.id), "x", f"{user.id}:", "99999999999999999999999:abc"):
        with client.session_transaction() as session:
            session["_user_id"] = old
            session["_fresh"] = True
        response = client.get("/")
        assert response.status_code == 302, old


def test_remember_cookie_is_lax_http_only_and_lasts_two_weeks(app, client, db):
    make_user("sales", email="vera@test.example")
    response = _login(client, "vera@test.example")
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(REMEMBER))
    assert "SameSite=Lax" in header and "HttpOnly" in header
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=14)


def test_production_cookies_are_secure():
    app = create_app(
        "production",
        SECRET_KEY="s" * 32,
        PUBLIC_BASE_URL="https://winback.example.com",
        SQLALCHEMY_DATABASE_URI="sqlite://",
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"

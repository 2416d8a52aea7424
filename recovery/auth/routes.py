from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..extensions import db
from ..security import safe_next
from . import bp, devices
from .forms import LocaleForm, LoginForm, PasswordChangeForm
from .services import LoginRefused, LoginThrottled, authenticate, change_password, end_sessions


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("queue.home"))
    form = LoginForm(next=request.args.get("next", ""))
    status, headers = 200, {}
    if form.validate_on_submit():
        email = form.email.data
        try:
            user = authenticate(email, form.password.data, _client_ip(), devices.knows(email))
        except LoginThrottled as throttled:
            flash(_("Too many failed attempts. Please try again in a few minutes."), "error")
            status, headers = 429, {"Retry-After": str(throttled.retry_after)}
        except LoginRefused:
            flash(_("Email or password is wrong."), "error")
        else:
            login_user(user, remember=form.remember.data)
            response = redirect(safe_next(form.next.data) or url_for("queue.home"))
            devices.remember(response, user.email)
            return response
    return render_template("auth/login.html", form=form), status, headers


def _client_ip() -> str:
    # Behind a reverse proxy, TRUSTED_PROXY_COUNT makes this the client's (ProxyFix).
    return request.remote_addr or "-"


@bp.post("/logout")
def logout():
    # A new session token: this and every other session and remember-me cookie end,
    # also copies of them.
    end_sessions(current_user)
    logout_user()
    flash(_("You are logged out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def password():
    form = PasswordChangeForm()
    user = current_user._get_current_object()  # login_user below needs the user itself
    if form.validate_on_submit():
        try:
            change_password(user, form.current.data, form.new.data)
        except LoginRefused:
            form.current.errors.append(_("The current password is wrong."))
        else:
            # This browser stays logged in with the new token; all others are out.
            remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            login_user(user, remember=remember in request.cookies)
            flash(_("Your password is changed. Other devices are logged out."), "info")
            return redirect(url_for("queue.home"))
    return render_template("auth/password.html", form=form)


@bp.post("/locale")
def set_locale():
    """The language switch: the user's setting once logged in, else this browser's (the
    login page has the switch too)."""
    form = LocaleForm()
    if form.validate_on_submit():
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            current_user.locale = form.locale.data
            db.session.commit()
    fallback = url_for("queue.home") if current_user.is_authenticated else url_for("auth.login")
    return redirect(safe_next(form.next.data) or fallback)

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..extensions import db
from ..security import safe_next
from . import bp
from .forms import LocaleForm, LoginForm
from .services import AccountLocked, LoginRefused, authenticate


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("queue.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except AccountLocked:
            flash(_("Too many failed attempts. Please try again in a few minutes."), "error")
        except LoginRefused:
            flash(_("Email or password is wrong."), "error")
        else:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(form.next.data) or url_for("queue.home"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/locale")
def set_locale():
    form = LocaleForm()
    if form.validate_on_submit():
        current_user.locale = form.locale.data
        session["locale"] = form.locale.data
        db.session.commit()
    return redirect(safe_next(form.next.data) or url_for("queue.home"))

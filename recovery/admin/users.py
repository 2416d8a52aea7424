"""Admin → Users (issue "an admin's first day"): create, change role and company
restriction, deactivate (never delete: the history keeps their name), reset a password
(a generated one, shown once), last login. The last active admin cannot be demoted or
deactivated – checked on the server."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..accounts import LastAdmin, create_user, generated_password, reset_password, update_user
from ..extensions import db
from ..models import Company, User
from ..security import admin_required
from . import bp
from .forms import ConfirmForm
from .user_forms import NewUserForm, UserForm


def _company_choices() -> list[tuple[str, str]]:
    companies = db.session.execute(select(Company.id, Company.name).order_by(Company.name))
    return [("", _("all companies"))] + [(str(cid), name) for cid, name in companies]


def _company_id(form: UserForm) -> int | None:
    return int(form.company.data) if form.company.data else None


@bp.get("/users")
@admin_required
def users():
    people = db.session.scalars(
        select(User).order_by(User.is_active_user.desc(), User.name, User.id)
    ).all()
    return render_template("admin/users.html", users=people)


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    form = NewUserForm()
    form.company.choices = _company_choices()
    if form.validate_on_submit():
        password = generated_password()
        try:
            user = create_user(
                form.email.data,
                form.name.data.strip(),
                password,
                form.role.data,
                company_id=_company_id(form) if form.role.data == "sales" else None,
                is_active_user=form.active.data,
            )
        except ValueError:  # the address is taken (create_user checks it case-blind)
            form.email.errors.append(_("Email address: a user with this address exists."))
        else:
            # Shown once, on this answer only: never stored in a flash or the session.
            return render_template("admin/user_password.html", user=user, password=password)
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=None)
    form.company.choices = _company_choices()
    if not form.is_submitted():
        form.name.data, form.role.data = user.name, user.role
        form.company.data = str(user.company_id or "")
        form.active.data = user.is_active_user
    if form.validate_on_submit():
        try:
            update_user(
                user,
                name=form.name.data.strip(),
                role=form.role.data,
                company_id=_company_id(form),
                active=form.active.data,
            )
        except LastAdmin:
            flash(
                _(
                    "%(name)s is the last active admin: make someone else admin first.",
                    name=user.name,
                ),
                "error",
            )
        else:
            flash(_("%(name)s saved.", name=user.name), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user, reset=ConfirmForm())


@bp.post("/users/<int:user_id>/password")
@admin_required
def reset_user_password(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    password = reset_password(user)
    return render_template("admin/user_password.html", user=user, password=password)

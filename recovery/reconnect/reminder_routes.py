"""The reorder reminder (R6) in ReConnect: a group's reminder settings and texts, and
its reminders coming up, sent, held by the cap and not sent."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..campaigns import reminder_lists
from ..campaigns.reminder_settings import (
    ReminderSettings,
    reminder_settings,
    save_reminder_settings,
)
from ..campaigns.settings import SettingsRefused
from ..extensions import db
from ..models import utcnow
from ..security import admin_required, int_arg, reads_only
from . import bp
from .forms import ReminderForm
from .routes import _group


@bp.get("/group/<int:group_id>/reminders")
@reads_only
def reminders(group_id: int):
    group = _group(group_id)
    show = request.args.get("show", "upcoming")
    if show not in reminder_lists.SHOWS:
        abort(404)
    page = int_arg("page", 1) or 1
    data = reminder_lists.reminder_page(group.id, show, current_user.company_id, page, utcnow())
    return render_template(
        "reconnect/reminders.html", group=group, data=data, shows=reminder_lists.SHOWS
    )


@bp.route("/group/<int:group_id>/reminder", methods=["GET", "POST"])
@admin_required
def reminder_settings_page(group_id: int):
    group = _group(group_id)
    current = reminder_settings([group.id])[group.id]
    form = ReminderForm(
        data={
            "mode": current.mode,
            "days_after": current.days_after,
            "days_before": current.days_before,
            "email_template_id": current.email_template_id,
            "sms_text": current.sms_text,
        }
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        values = ReminderSettings(
            group.id,
            form.mode.data,
            form.days_after.data,
            form.days_before.data,
            form.email_template_id.data,
            form.sms_text.data,
        )
        try:
            save_reminder_settings(group, values, current_user.id)
        except SettingsRefused as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Reorder reminder for %(group)s saved.", group=group.name), "success")
            return redirect(url_for("reconnect.reminders", group_id=group.id))
    return render_template("reconnect/reminder_settings.html", group=group, form=form)

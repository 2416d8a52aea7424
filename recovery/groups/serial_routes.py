"""Serial messages to a group or a newsletter (G4): the list, the draft with its preview
for three real recipients, the test send, scheduling or sending now, and the results.
Admins only: a serial message writes to a whole group at once."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..campaigns import serial as service
from ..extensions import db
from ..messaging import outbox
from ..models import (
    SALUTATION_MODE_LABELS,
    SERIAL_STATE_LABELS,
    Company,
    SerialMessage,
    business_tz,
    utcnow,
)
from ..security import admin_required
from . import bp
from .serial_forms import ScheduleForm, SerialForm, StepForm


def _serial(serial_id: int) -> SerialMessage:
    item = db.session.get(SerialMessage, serial_id)
    if item is None:
        abort(404)
    return item


def _form(item: SerialMessage | None = None) -> SerialForm:
    form = SerialForm(obj=item)
    if item is not None and form.target.data in (None, "", "group", "newsletter"):
        form.target.data = f"{item.target}:{item.group_id}"
    form.target.choices = service.targets()
    companies = current_user.restrict(select(Company).order_by(Company.name), Company.id)
    form.company_id.choices = [(c.id, c.name) for c in db.session.scalars(companies)]
    return form


def _draft(form: SerialForm) -> service.Draft:
    return service.Draft(
        name=form.name.data or "",
        target=form.target.data or "",
        company_id=form.company_id.data,
        salutation=form.salutation.data or "",
        template_id=form.template_id.data,
        subject=form.subject.data or "",
        body=form.body.data or "",
    )


@bp.get("/serial")
@admin_required
def serial_list():
    items = db.session.scalars(
        select(SerialMessage).order_by(SerialMessage.created_at.desc(), SerialMessage.id.desc())
    ).all()
    return render_template("groups/serial_list.html", items=items, state_labels=SERIAL_STATE_LABELS)


@bp.route("/serial/new", methods=["GET", "POST"])
@admin_required
def serial_new():
    form = _form()
    if form.validate_on_submit():
        try:
            item = service.save_draft(_draft(form), current_user)
        except service.SerialError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            saved = _("The draft is saved. Check the preview, then send a test to yourself.")
            flash(saved, "success")
            return redirect(url_for("groups.serial_view", serial_id=item.id))
    return render_template("groups/serial_new.html", form=form)


@bp.get("/serial/<int:serial_id>")
@admin_required
def serial_view(serial_id: int):
    item = _serial(serial_id)
    draft = item.state == "draft"
    return render_template(
        "groups/serial_view.html",
        item=item,
        form=_form(item) if draft else None,
        schedule_form=ScheduleForm(),
        step=StepForm(),
        previews=service.preview(item, current_user) if draft else [],
        recipients=service.count_recipients(item),
        results=service.results(item) if not draft else None,
        skipped={service.skip_label(k): n for k, n in (item.skipped or {}).items()},
        state_labels=SERIAL_STATE_LABELS,
        salutation_labels=SALUTATION_MODE_LABELS,
        target_label=dict(service.targets()).get(f"{item.target}:{item.group_id}", ""),
    )


@bp.post("/serial/<int:serial_id>/edit")
@admin_required
def serial_edit(serial_id: int):
    item = _serial(serial_id)
    form = _form(item)
    if not form.validate_on_submit():
        flash(_("The form was not valid; please check the fields."), "error")
    else:
        try:
            service.save_draft(_draft(form), current_user, item)
        except service.SerialError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("The draft is saved."), "success")
    return redirect(url_for("groups.serial_view", serial_id=serial_id))


def _step(serial_id: int, action, done: str):
    """Run one step (a service call) behind a CSRF-checked button, then back to the page."""
    item = _serial(serial_id)
    if not StepForm().validate_on_submit():
        abort(400)
    try:
        result = action(item)
    except service.SerialError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        if result is not None:
            outbox.deliver_if_offline(result)
        flash(done, "success")
    return redirect(url_for("groups.serial_view", serial_id=serial_id))


@bp.post("/serial/<int:serial_id>/test")
@admin_required
def serial_test(serial_id: int):
    done = _("A test was sent to %(email)s.", email=current_user.email)
    return _step(serial_id, lambda item: service.send_test(item, current_user), done)


@bp.post("/serial/<int:serial_id>/send")
@admin_required
def serial_send(serial_id: int):
    done = _("The messages are being queued; each goes out in the next send window.")
    return _step(serial_id, lambda item: service.send_now(item, current_user), done)


@bp.post("/serial/<int:serial_id>/unschedule")
@admin_required
def serial_unschedule(serial_id: int):
    return _step(serial_id, service.unschedule, _("The serial message is a draft again."))


@bp.post("/serial/<int:serial_id>/schedule")
@admin_required
def serial_schedule(serial_id: int):
    at = _local_time(request.form.get("at"))

    def schedule(item: SerialMessage) -> None:
        if at is None:
            raise service.SerialError(_("Date and time: enter them as on the form."))
        service.schedule(item, at, current_user, utcnow())

    return _step(serial_id, schedule, _("The serial message is scheduled."))


def _local_time(value: str | None) -> datetime | None:
    """A ``datetime-local`` field's value in the business's time zone, as UTC."""
    try:
        local = datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    if local.tzinfo is not None:
        return None
    return local.replace(tzinfo=business_tz()).astimezone(UTC)

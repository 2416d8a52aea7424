"""ReConnect (R1–R3): the overview per product group, its tabs with the send switch,
the contact actions with their confirm step, and a group's settings."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, get_timezone, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import exists, or_, select

from ..campaigns import lists, reminder_lists, results_tally, tally
from ..campaigns.first import Scope, plan, queue_first
from ..campaigns.settings import SettingsRefused, group_settings, save_group_settings
from ..campaigns.settings import set_send_switch as switch_service
from ..campaigns.windows import SendWindows, save_windows
from ..extensions import db
from ..jobs import enqueue
from ..messaging import outbox
from ..messaging.cap import MarketingCap, save_cap
from ..models import Case, CaseKind, Message, ProductGroup, ReconnectContact, utcnow
from ..security import admin_required, int_arg, reads_only, safe_next
from ..ui import url_around
from . import bp
from .forms import ConfirmForm, GroupSettingsForm, SendingForm, SwitchForm
from .rows import Links, tab_rows


@bp.get("/")
@reads_only
def overview():
    now = utcnow()
    data = lists.overview(current_user.company_id, now)
    return render_template(
        "reconnect/overview.html",
        data=data,
        tab_labels=lists.TAB_LABELS,
        reminders=reminder_lists.summary(current_user.company_id, now),
    )


@bp.get("/results")
@reads_only
def results_page():
    now = utcnow()
    data, reminders = results_tally.current(current_user.company_id, now)
    return render_template("reconnect/results.html", data=data, reminders=reminders)


def _group(group_id: int) -> ProductGroup:
    group = db.session.get(ProductGroup, group_id)
    if group is None:
        abort(404)
    return group


@bp.get("/group/<int:group_id>/<tab>")
@reads_only
def tab(group_id: int, tab: str):
    if tab not in lists.TABS:
        abort(404)
    group = _group(group_id)
    page = int_arg("page", 1) or 1
    data = lists.tab_page(
        group.id,
        tab,
        current_user.company_id,
        page,
        utcnow(),
        after=int_arg("after"),
        before=int_arg("before"),
    )
    settings = group_settings([group.id])[group.id]
    links = Links(
        case=url_around("queue.case_view", "case_id"),
        switch=url_around("reconnect.switch", "customer_id", group_id=group.id),
        contact=url_around("reconnect.contact", "customer", group=group.id)
        if tab == "reachable" and settings.enabled
        else None,
    )
    return render_template(
        "reconnect/tab.html",
        group=group,
        data=data,
        settings=settings,
        tab_labels=lists.TAB_LABELS,
        rows=tab_rows(data.rows, tab, links, str(get_locale() or "de"), get_timezone()),
    )


def _visible_pair(customer_id: int, group_id: int) -> bool:
    """The customer has an overdue case or a contact in the group that the user may see."""
    case_in_group = current_user.restrict(
        select(Case.id).where(
            Case.customer_id == customer_id,
            Case.product_group_id == group_id,
            Case.kind == CaseKind.OVERDUE,
        ),
        Case.company_id,
    )
    contact_in_group = current_user.restrict(
        select(ReconnectContact.id).where(
            ReconnectContact.customer_id == customer_id,
            ReconnectContact.product_group_id == group_id,
        ),
        ReconnectContact.company_id,
    )
    return bool(db.session.scalar(select(or_(exists(case_in_group), exists(contact_in_group)))))


@bp.post("/group/<int:group_id>/switch/<int:customer_id>")
def switch(group_id: int, customer_id: int):
    group = _group(group_id)
    if not _visible_pair(customer_id, group.id):
        abort(404)
    form = SwitchForm()
    back = safe_next(request.form.get("next")) or url_for(
        "reconnect.tab", group_id=group.id, tab="reachable"
    )
    if not form.validate_on_submit() or form.send.data not in ("on", "off"):
        flash(_("The form has expired; please try again."), "error")
        return redirect(back)
    on = form.send.data == "on"
    switch_service(customer_id, group.id, on, current_user.id)
    results_tally.changed()
    db.session.commit()
    if on:
        flash(_("Sending switched on for this customer in %(group)s.", group=group.name), "success")
    else:
        flash(_("Sending switched off for this customer in %(group)s.", group=group.name), "info")
    return redirect(back)


def _scope() -> tuple[Scope, dict]:
    """The contact action's scope from the URL: ``group`` (and ``customer``) or ``all``."""
    group_id = int_arg("group")
    customer_id = int_arg("customer")
    if group_id is None and request.args.get("all") != "1":
        abort(404)
    if group_id is not None:
        _group(group_id)
    if customer_id is not None and group_id is None:
        abort(404)
    args = {"group": group_id, "customer": customer_id} if group_id else {"all": "1"}
    scope = Scope(
        group_ids=(group_id,) if group_id is not None else None,
        customer_id=customer_id,
        company_id=current_user.company_id,
    )
    return scope, {k: v for k, v in args.items() if v is not None}


@bp.get("/contact")
def contact():
    scope, args = _scope()
    now = utcnow()
    data = plan(scope, now)
    send_at = SendWindows.load().next_open(now)
    return render_template(
        "reconnect/confirm.html",
        plan=data,
        args=args,
        scope=scope,
        form=ConfirmForm(),
        send_at=send_at if send_at > now else None,
    )


@bp.post("/contact")
def contact_confirmed():
    scope, args = _scope()
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired; please try again."), "error")
        return redirect(url_for("reconnect.contact", **args))
    if scope.customer_id is not None:
        return _contact_one(scope)
    groups = list(scope.group_ids) if scope.group_ids else None
    job = enqueue(
        "reconnect first", {"groups": groups, "company_id": scope.company_id}, current_user.id
    )
    db.session.commit()
    flash(
        _(
            "The first messages are being queued in the background (job %(id)s).",
            id=job.id,
        ),
        "success",
    )
    return redirect(url_for("reconnect.overview"))


def _contact_one(scope: Scope):
    """One customer from a tab row: queued at once, so the row moves to its next tab."""
    group_id = scope.group_ids[0]
    result = queue_first(scope, current_user._get_current_object(), utcnow())
    if result.queued:
        results_tally.changed()
        db.session.commit()
    for message_id in result.messages:
        outbox.deliver_if_offline(db.session.get(Message, message_id))
    if result.queued:
        flash(
            ngettext(
                "The first message was queued (%(num)s message).",
                "The first message was queued (%(num)s messages).",
                len(result.messages),
            ),
            "success",
        )
    elif result.skipped.get("already"):
        flash(_("This customer was contacted already; nothing was sent again."), "info")
    else:
        reasons = "; ".join(result.errors) or _("the customer cannot be contacted now")
        flash(_("Nothing was sent: %(reasons)s.", reasons=reasons), "error")
    return redirect(url_for("reconnect.tab", group_id=group_id, tab="reachable"))


@bp.route("/group/<int:group_id>/settings", methods=["GET", "POST"])
@admin_required
def settings(group_id: int):
    group = _group(group_id)
    current = group_settings([group.id])[group.id]
    form = GroupSettingsForm(
        data={
            "enabled": current.enabled,
            "followup_delay_days": current.followup_delay_days,
            "attribution_days": current.attribution_days,
        }
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        try:
            save_group_settings(
                group,
                form.enabled.data,
                form.followup_delay_days.data,
                form.attribution_days.data,
                current_user.id,
            )
        except SettingsRefused as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("ReConnect settings for %(group)s saved.", group=group.name), "success")
            return redirect(url_for("reconnect.overview"))
    return render_template("reconnect/settings.html", group=group, form=form)


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def sending_settings():
    windows, cap = SendWindows.load(), MarketingCap.load()
    form = SendingForm(
        data={
            "weekdays": list(windows.weekdays),
            "hours": ", ".join(str(h) for h in windows.hours),
            "cap_days": cap.days,
        }
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        hours = [h.strip() for h in (form.hours.data or "").split(",") if h.strip()]
        try:
            save_windows({"weekdays": form.weekdays.data, "hours": hours}, current_user.id)
            save_cap(form.cap_days.data, current_user.id)
            tally.invalidate()  # who is reachable changed for everybody
        except ValueError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Sending settings saved."), "success")
            return redirect(url_for("reconnect.overview"))
    return render_template("reconnect/sending.html", form=form)

"""The recovery queue: tiles, lists, the case page and its buttons (thin routes)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..audience.groups import active_groups, customer_groups, customer_subscriptions_elsewhere
from ..cases import actions, export, lists, page
from ..cases.action_table import BY_NAME, CASE_ACTIONS
from ..cases.forms import ReopenForm, TakeoverForm
from ..extensions import db
from ..models import Case, business_tz, utcnow
from ..security import reads_only
from ..ui import TILE_LABELS, case_reasons, url_around
from . import bp, checklist
from .forms import ClaimForm, ReleaseForm


def _visible_case(case_id: int) -> Case:
    """The case, if the user may see it (a restricted user: only their company's)."""
    stmt = current_user.restrict(select(Case).where(Case.id == case_id), Case.company_id)
    case = db.session.scalars(stmt).first()
    if case is None:
        abort(404)
    return case


# What werkzeug's url_for leaves unquoted in query arguments.
URL_SAFE = "!$'()*,/:;?@"


def _case_url(case: Case, query: lists.ListQuery, **extra) -> str:
    return url_for("queue.case_view", case_id=case.id, list=query.tile, **query.args(), **extra)


def _case_href(query: lists.ListQuery) -> tuple[str, str]:
    """The case page URL of this list around the case id: (before, after)."""
    return url_around("queue.case_view", "case_id", list=query.tile, **query.args())


def list_url(query: lists.ListQuery) -> Callable[..., str]:
    """URLs of this list with some arguments changed (the 12 sort links): the list's
    path is routed once and each link only encodes its arguments, as url_for does."""
    base = url_for("queue.case_list", tile=query.tile)

    def url(**changes) -> str:
        args = query.args(**changes)
        return f"{base}?{urlencode(args, safe=URL_SAFE)}" if args else base

    return url


def _list_query() -> lists.ListQuery:
    return lists.ListQuery.from_args(request.args.get("list", "decline"), request.args)


@bp.get("/")
@reads_only
def home():
    steps = checklist.steps()
    return render_template(
        "queue/home.html",
        tiles=lists.tile_counts(current_user),
        steps=steps,
        data_yet=steps is None or steps[0].done or steps[1].done,
    )


@bp.get("/reminders")
def reminders():
    """Upcoming reminders by day: mine, or (admins) everyone's."""
    everyone = current_user.is_admin and request.args.get("who") == "all"
    tz = business_tz()
    rows = lists.scheduled_reminders(current_user, everyone)
    today = utcnow().astimezone(tz).date()
    days: dict = {}
    for row in rows:
        day = max(row.remind_at.astimezone(tz).date(), today)  # overdue ones count as today
        days.setdefault(day, []).append(row)
    return render_template(
        "queue/reminders.html",
        days=days,
        today=today,
        tomorrow=today + timedelta(days=1),
        everyone=everyone,
        shown=len(rows),
    )


@bp.get("/list/<tile>")
@reads_only
def case_list(tile: str):
    if tile not in lists.LISTS:
        abort(404)
    query = lists.ListQuery.from_args(tile, request.args)
    size = current_app.config["PAGE_SIZE"]
    cases, total = lists.page(query, current_user, size)
    filters = lists.filter_choices(current_user)
    return render_template(
        "queue/list.html",
        query=query,
        cases=cases,
        total=total,
        pages=max((total + size - 1) // size, 1),
        filters=filters,
        user_names={u.id: u.name for u in filters["users"]},
        case_href=_case_href(query),
        list_url=list_url(query),
        group_choices=filters["active_groups"],
    )


def _export_args(tile: str):
    if tile not in lists.LISTS:
        abort(404)
    query = lists.ListQuery.from_args(tile, request.args)
    lang = "en" if request.args.get("format") == "en" else "de"
    with force_locale(lang):
        title = str(TILE_LABELS[tile])
    today = utcnow().astimezone(business_tz()).date()
    return query, lang, title, today


@bp.get("/list/<tile>/export.csv")
def export_csv(tile: str):
    query, lang, title, today = _export_args(tile)
    user = current_user._get_current_object()
    body = export.rows(query, user, lang, business_tz(), case_reasons)
    name = export.file_name(title, lang, today, "csv")
    return Response(
        stream_with_context(body),
        mimetype="text/csv",
        headers={"Content-Disposition": content_disposition(name)},
    )


@bp.get("/list/<tile>/export.xlsx")
def export_xlsx(tile: str):
    """The same list as a workbook, built in a temporary file and streamed from there."""
    query, lang, title, today = _export_args(tile)
    user = current_user._get_current_object()
    handle, name = tempfile.mkstemp(suffix=".xlsx")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            export.workbook(query, user, lang, business_tz(), case_reasons, title, out)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    name = export.file_name(title, lang, today, "xlsx")
    return Response(
        export.spooled(path),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": content_disposition(name),
            "Content-Length": str(path.stat().st_size),
        },
    )


def content_disposition(file_name: str) -> str:
    return f'attachment; filename="{file_name}"'


@bp.get("/case/<int:case_id>")
def case_view(case_id: int):
    # Viewing claims nothing (a link from another site must not lock a case): starting
    # an action does, by POST (case_action "claim", and every action itself).
    case = _visible_case(case_id)
    query = _list_query()
    holder = actions.holder_other_than(case, current_user)
    details = page.details(case, current_user._get_current_object())
    groups = customer_groups(case.customer_id)
    joined = {g.group_id for g in groups}
    return render_template(
        "queue/case.html",
        case=case,
        query=query,
        holder=holder,
        viewers_text=_viewers_text(case, holder),
        takeover_form=TakeoverForm(),
        reopen_form=ReopenForm(),
        undo=actions.undo_offered(case, current_user),
        undo_seconds=actions.UNDO_SECONDS,
        reopenable=not case.is_open and case.status in actions.REOPENABLE,
        page=details,
        groups=groups,
        other_newsletters=customer_subscriptions_elsewhere(case.customer_id),
        group_choices=[g for g in active_groups() if g[0] not in joined],
        case_actions=CASE_ACTIONS,
        forms={a.key: a.make_form(details) for a in CASE_ACTIONS},
        done=request.args.get("done"),
    )


@bp.post("/case/<int:case_id>/<action>")
def case_action(case_id: int, action: str):
    case = _visible_case(case_id)
    query = _list_query()
    if action == "release":
        if ReleaseForm().validate_on_submit():
            actions.release(case, current_user)
        return redirect(url_for("queue.case_list", tile=query.tile, **query.args()))
    if action == "claim":  # the case page's script, when the user starts an action
        if not ClaimForm().validate_on_submit():
            abort(400)
        return ("", 204) if actions.claim(case, current_user) else ("", 409)
    if action == "here":  # the case page's heartbeat while it is visible
        if not ClaimForm().validate_on_submit():
            abort(400)
        actions.mark_viewing(case, current_user)
        holder = actions.holder_other_than(case, current_user)
        return {"viewers": _viewers_text(case, holder)}
    if action == "leave":  # the case page's last post when it is left (sendBeacon)
        if not ClaimForm().validate_on_submit():
            abort(400)
        actions.leave(case, current_user)
        return ("", 204)
    if action == "takeover":
        return _take_over(case, query)
    if action == "reopen":
        return _reopen(case, query)
    entry = BY_NAME.get(action)
    if entry is None:
        abort(404)
    back = url_for("queue.case_view", case_id=case.id, list=query.tile, **query.args())
    form = entry.form()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(back)
    try:
        entry.service(case, current_user, form.token.data, **form.values())
        flash(str(entry.flash), "success")
    except actions.AlreadyDone:
        flash(_("This was done already; nothing was repeated."), "info")
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
        return redirect(back)
    return redirect(_case_url(case, query, done=action))


def _viewers_text(case: Case, holder) -> str:
    """ "Anna is looking at this case." for the others who have it open now (the one
    working on it has a banner of their own)."""
    names = [
        u.name
        for u in actions.viewers_other_than(case, current_user)
        if holder is None or u.id != holder.id
    ]
    if not names:
        return ""
    return ngettext(
        "%(names)s is looking at this case.",
        "%(names)s are looking at this case.",
        len(names),
        names=", ".join(names),
    )


def _reopen(case: Case, query: lists.ListQuery):
    return _one_click(case, query, ReopenForm, actions.reopen, _("The case is open again."))


def _take_over(case: Case, query: lists.ListQuery):
    done = _("You have taken over this case.")
    return _one_click(case, query, TakeoverForm, actions.take_over, done, refused="info")


def _one_click(case: Case, query: lists.ListQuery, form_class, service, done: str, refused="error"):
    """A button outside the action table (reopen, take over): its form, its service,
    what to say when done or refused, back to the case page."""
    back = url_for("queue.case_view", case_id=case.id, list=query.tile, **query.args())
    form = form_class()
    if not form.validate_on_submit():
        abort(400)
    try:
        service(case, current_user, form.token.data)
        flash(done, "success")
    except actions.AlreadyDone:
        flash(_("This was done already; nothing was repeated."), "info")
    except actions.ActionRefused as exc:
        flash(str(exc), refused)
    return redirect(back)


@bp.get("/case/<int:case_id>/next")
def next_case(case_id: int):
    current = _visible_case(case_id)
    query = _list_query()
    actions.release(current, current_user)
    nxt = lists.next_case(query, current_user, current)
    if nxt is None:
        flash(_("That was the last customer of this list."), "info")
        return redirect(url_for("queue.case_list", tile=query.tile, **query.args()))
    return redirect(_case_url(nxt, query))

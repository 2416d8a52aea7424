"""Customer groups: the merchant's groups (list, editor with preview count, members,
export, members by hand) and the customer groups of the source system (thin routes)."""

from __future__ import annotations

from urllib.parse import parse_qsl

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
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from ..audience import groups as service
from ..audience.member_list import STATES, MemberQuery, export_rows, member_page
from ..audience.members import MembershipRefused, add_by_hand, remove_by_hand
from ..audience.rules import FLAG_LABELS
from ..cases.export import file_name
from ..cases.lists import ListQuery
from ..extensions import db
from ..models import Case, CaseKind, CaseStatus, ContactGroup, Customer, Order, business_tz, utcnow
from ..models.group import MEMBER_SOURCE_LABELS, SUBSCRIPTION_STATUS_LABELS
from ..security import admin_required, safe_next
from . import bp
from .forms import GroupForm, MembersForm, rules_from_values, values_from_form, values_from_rules


def _group(group_id: int) -> ContactGroup:
    group = db.session.get(ContactGroup, group_id)
    if group is None:
        abort(404)
    return group


@bp.get("/")
def index():
    return render_template(
        "groups/index.html",
        groups=service.group_rows(current_user, str(get_locale())),
        rows=_wawi_rows(),
    )


def _wawi_rows() -> list[dict]:
    """The source system's customer groups with their customers and open cases."""
    counted = select(Customer.customer_group, func.count(Customer.id))
    if current_user.company_id is not None:
        # a restricted user counts the customers who bought from their company
        bought = current_user.restrict(select(Order.customer_id), Order.company_id)
        counted = counted.where(Customer.id.in_(bought))
    grouped = counted.group_by(Customer.customer_group)
    customers = dict(db.session.execute(grouped).tuples().all())
    cases = (
        select(
            Customer.customer_group,
            func.count(Case.id),
            func.coalesce(func.sum(Case.revenue_at_risk), 0),
        )
        .join(Case.customer)
        .where(Case.kind == CaseKind.DECLINE, Case.status == CaseStatus.NEW)
        .group_by(Customer.customer_group)
    )
    cases = current_user.restrict(cases, Case.company_id)
    open_cases = {g: (n, risk) for g, n, risk in db.session.execute(cases)}
    return [
        {
            "group": group,
            "customers": count,
            "cases": open_cases.get(group, (0, 0))[0],
            "at_risk": open_cases.get(group, (0, 0))[1],
        }
        for group, count in sorted(customers.items(), key=lambda kv: -kv[1])
    ]


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def create():
    return _editor(None)


@bp.route("/<int:group_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(group_id: int):
    return _editor(_group(group_id))


def _editor(group: ContactGroup | None):
    """GET shows the group; POST "preview" counts the matching customers and shows the
    form again (no script needed), POST "save" saves and evaluates the rules."""
    form = GroupForm()
    preview = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        values = values_from_form(request.form)
        fields = {
            "name": request.form.get("name", ""),
            "description": request.form.get("description", ""),
            "active": request.form.get("active") == "1",
        }
        rules = rules_from_values(values)
        try:
            if "preview" in request.form:
                preview = service.preview_count(rules, current_user)
            else:
                saved = service.save_group(group, current_user, rules=rules, **fields)
                flash(_("The group “%(name)s” is saved.", name=saved.name), "success")
                return redirect(url_for("groups.members", group_id=saved.id))
        except service.GroupRefused as exc:
            db.session.rollback()
            flash(str(exc), "error")
    else:
        values = values_from_rules(group.rules if group else None)
        fields = {
            "name": group.name if group else "",
            "description": (group.description or "") if group else "",
            "active": group.active if group else True,
        }
    return render_template(
        "groups/edit.html",
        group=group,
        form=form,
        fields=fields,
        values=values,
        preview=preview,
        choices=service.editor_choices(current_user, str(get_locale())),
        flag_labels=FLAG_LABELS,
    )


@bp.get("/<int:group_id>")
def members(group_id: int):
    group = _group(group_id)
    query = MemberQuery.from_args(request.args)
    size = current_app.config["PAGE_SIZE"]
    rows, total = member_page(group, query, current_user, size)
    return render_template(
        "groups/members.html",
        group=group,
        query=query,
        rows=rows,
        total=total,
        pages=max((total + size - 1) // size, 1),
        states=STATES,
        source_labels=MEMBER_SOURCE_LABELS,
        state_labels=SUBSCRIPTION_STATUS_LABELS,
        changes=service.recent_changes(group.id, current_user),
        rules=service.group_rows_for(group, str(get_locale())),
        form=MembersForm(),
    )


@bp.get("/<int:group_id>/export.csv")
def export_csv(group_id: int):
    group = _group(group_id)
    query = MemberQuery.from_args(request.args)
    lang = "en" if request.args.get("format") == "en" else "de"
    with force_locale(lang):
        title = _("Group") + " " + group.name
    today = utcnow().astimezone(business_tz()).date()
    body = export_rows(group, query, current_user._get_current_object(), lang, business_tz())
    return Response(
        stream_with_context(body),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{file_name(title, lang, today, "csv")}"'
        },
    )


def _back(default: str):
    return redirect(safe_next(request.form.get("next")) or default)


def _customer_ids() -> list[int]:
    ids = []
    for value in request.form.getlist("customer_id"):
        if not (value.isascii() and value.isdigit() and len(value) < 10):
            abort(400)
        ids.append(int(value))
    return ids


def _list_query() -> ListQuery | None:
    """The queue list whose every customer is to be added ("all matching"), or None."""
    if request.form.get("all_matching") != "1":
        return None
    args = MultiDict(parse_qsl(request.form.get("list_args", "")[:2000]))
    return ListQuery.from_args(request.form.get("list", ""), args)


@bp.post("/members")
def add_members():
    """Add customers by hand to the chosen group (the case page's box, a list selection)."""
    if not MembersForm().validate_on_submit():
        abort(400)
    group_id = request.form.get("group_id", "")
    if not (group_id.isascii() and group_id.isdigit() and len(group_id) < 10):
        flash(_("Choose a group."), "error")
        return _back(url_for("groups.index"))
    group = _group(int(group_id))
    ids = _customer_ids()
    every = _list_query()
    if not ids and every is None:
        flash(_("Choose at least one customer."), "error")
        return _back(url_for("groups.members", group_id=group.id))
    try:
        if every is not None:
            added, present = service.add_list_by_hand(group.id, every, current_user)
        else:
            added, present = add_by_hand(group.id, ids, current_user)
    except MembershipRefused as exc:
        flash(str(exc), "error")
        return _back(url_for("groups.members", group_id=group.id))
    flash(service.added_text(group.name, added, present), "success")
    return _back(url_for("groups.members", group_id=group.id))


@bp.post("/<int:group_id>/members/<int:customer_id>/remove")
def remove_member(group_id: int, customer_id: int):
    group = _group(group_id)
    if not MembersForm().validate_on_submit():
        abort(400)
    if not remove_by_hand(group.id, customer_id, current_user):
        abort(404)
    flash(_("The customer was removed from the group “%(name)s”.", name=group.name), "success")
    return _back(url_for("groups.members", group_id=group.id))

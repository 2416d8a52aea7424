"""Messaging admin: the outbox and message log, job runs, companies with their Mailjet
sender and templates, and the message texts per product group (PRODUCT.md M3, M7, S2)."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..jobs import ACTIVE
from ..jobs.schedule import save_worker_settings, worker_settings
from ..messaging import alert, channels, preview
from ..messaging import outbox as outbox_service
from ..messaging.variables import SAMPLE_VARIABLES
from ..models import (
    CHANNELS,
    MESSAGE_STATES,
    Company,
    JobRun,
    Message,
    ProductGroup,
    WebhookEvent,
)
from ..models.message import (
    MESSAGE_PURPOSES,
    Channel,
    GroupMessageTexts,
)
from ..security import admin_required, int_arg, safe_next
from . import bp
from .forms import ConfirmForm
from .messaging_forms import CompanyForm, GroupTextsForm, WorkerSettingsForm
from .routes import PAGE

# The sandboxed template preview may show its own styles and remote images, never run code.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; font-src https:; "
    "sandbox; frame-ancestors 'self'"
)


def _pages(total: int) -> int:
    return max((total + PAGE - 1) // PAGE, 1)


# -- outbox and message log --------------------------------------------------------------------


@bp.get("/outbox")
@admin_required
def outbox():
    args = {
        "state": request.args.get("state") if request.args.get("state") in MESSAGE_STATES else None,
        "channel": request.args.get("channel") if request.args.get("channel") in CHANNELS else None,
        "purpose": request.args.get("purpose")
        if request.args.get("purpose") in MESSAGE_PURPOSES
        else None,
    }
    page = max(int_arg("page", 1), 1)
    stmt = select(Message)
    for name, value in args.items():
        if value:
            stmt = stmt.where(getattr(Message, name) == value)
    total = db.session.scalar(stmt.with_only_columns(func.count(Message.id)))
    messages = db.session.scalars(
        stmt.options(selectinload(Message.created_by))
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(PAGE)
        .offset((page - 1) * PAGE)
    ).all()
    counts = dict(
        db.session.execute(select(Message.state, func.count(Message.id)).group_by(Message.state))
        .tuples()
        .all()
    )
    return render_template(
        "admin/outbox.html",
        messages=messages,
        args=args,
        states=MESSAGE_STATES,
        channels=CHANNELS,
        purposes=MESSAGE_PURPOSES,
        counts=counts,
        total=total,
        page=page,
        pages=_pages(total),
        offline=outbox_service.offline(),
        retry_form=ConfirmForm(),
    )


@bp.get("/outbox/<int:message_id>")
@admin_required
def message(message_id: int):
    msg = db.session.get(Message, message_id) or abort(404)
    events = db.session.scalars(
        select(WebhookEvent)
        .where(WebhookEvent.message_id == msg.id)
        .order_by(WebhookEvent.received_at, WebhookEvent.id)
    ).all()
    return render_template(
        "admin/message.html", message=msg, events=events, retry_form=ConfirmForm()
    )


@bp.post("/outbox/<int:message_id>/retry")
@admin_required
def retry_message(message_id: int):
    msg = db.session.get(Message, message_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        outbox_service.retry(msg)
    except outbox_service.CannotRetry:
        flash(_("Only failed messages can be sent again."), "error")
    else:
        db.session.commit()
        outbox_service.deliver_if_offline(msg)
        flash(_("Message %(id)s is queued again.", id=msg.id), "success")
    back = safe_next(request.form.get("back"))
    return redirect(back or url_for("admin.message", message_id=msg.id))


@bp.post("/sending-warning/dismiss")
@admin_required
def dismiss_sending_warning():
    """The admin fixed the key or the sender (or wants the warning gone anyway)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    alert.clear(user_id=current_user.id)
    db.session.commit()
    return redirect(safe_next(request.form.get("back")) or url_for("admin.outbox"))


# -- job runs and worker settings ----------------------------------------------------------------


@bp.route("/jobs", methods=["GET", "POST"])
@admin_required
def jobs():
    settings = worker_settings()
    form = WorkerSettingsForm(
        nightly_enabled=settings.nightly_enabled, nightly_hour=settings.nightly_hour
    )
    if form.validate_on_submit():
        save_worker_settings(
            {"nightly_enabled": form.nightly_enabled.data, "nightly_hour": form.nightly_hour.data},
            current_user.id,
        )
        db.session.commit()
        flash(_("Worker settings saved."), "success")
        return redirect(url_for("admin.jobs"))
    page = max(int_arg("page", 1), 1)
    kind = request.args.get("kind") or None
    stmt = select(JobRun)
    if kind:
        stmt = stmt.where(JobRun.kind == kind)
    total = db.session.scalar(stmt.with_only_columns(func.count(JobRun.id)))
    runs = db.session.scalars(
        stmt.options(selectinload(JobRun.created_by))
        .order_by(JobRun.id.desc())
        .limit(PAGE)
        .offset((page - 1) * PAGE)
    ).all()
    kinds = db.session.scalars(select(JobRun.kind).distinct().order_by(JobRun.kind)).all()
    return render_template(
        "admin/messaging/jobs.html",
        runs=runs,
        kind=kind,
        kinds=kinds,
        active=ACTIVE,
        form=form,
        page=page,
        pages=_pages(total),
    )


# -- companies ---------------------------------------------------------------------------------


@bp.get("/companies")
@admin_required
def companies():
    rows = db.session.scalars(select(Company).order_by(Company.name)).all()
    return render_template("admin/messaging/companies.html", companies=rows)


@bp.route("/companies/<int:company_id>", methods=["GET", "POST"])
@admin_required
def company(company_id: int):
    shop = db.session.get(Company, company_id) or abort(404)
    form = CompanyForm(obj=shop)
    if form.validate_on_submit():
        for name in form.data:
            if name != "csrf_token":
                value = form[name].data
                setattr(shop, name, value.strip() or None if isinstance(value, str) else value)
        db.session.commit()
        flash(_("%(company)s saved.", company=shop.name), "success")
        return redirect(url_for("admin.company", company_id=shop.id))
    if form.errors:
        flash(_("Please correct the marked fields."), "error")
    number = request.args.get("customer", "")
    customer = preview.find_customer(number)
    previews = [
        p
        for kind in ("standard", "voucher")
        if (p := preview.template_preview(shop, kind, customer, current_user)) is not None
    ]
    return render_template(
        "admin/messaging/company.html",
        company=shop,
        form=form,
        number=number,
        customer=customer,
        previews=previews,
        providers=channels.sms_providers(),
    ), (400 if form.errors else 200)


@bp.get("/companies/<int:company_id>/preview/<kind>")
@admin_required
def company_preview(company_id: int, kind: str):
    """The filled-in HTML of a template, shown in a sandboxed frame on the company page."""
    shop = db.session.get(Company, company_id) or abort(404)
    if kind not in ("standard", "voucher"):
        abort(404)
    customer = preview.find_customer(request.args.get("customer"))
    result = preview.template_preview(shop, kind, customer, current_user)
    if result is None or result.error:
        abort(404)
    return Response(
        result.html or Markup("<pre>{}</pre>").format(result.text),
        headers={"Content-Security-Policy": PREVIEW_CSP, "Cache-Control": "no-store"},
    )


# -- message texts per product group -------------------------------------------------------------


@bp.get("/product-groups")
@admin_required
def product_groups():
    rows = db.session.execute(
        select(ProductGroup, GroupMessageTexts)
        .outerjoin(GroupMessageTexts, GroupMessageTexts.product_group_id == ProductGroup.id)
        .order_by(ProductGroup.name)
    ).all()
    return render_template("admin/messaging/groups.html", rows=rows)


@bp.route("/product-groups/<int:group_id>", methods=["GET", "POST"])
@admin_required
def product_group(group_id: int):
    group = db.session.get(ProductGroup, group_id) or abort(404)
    texts = db.session.get(GroupMessageTexts, group.id) or GroupMessageTexts(
        product_group_id=group.id
    )
    form = GroupTextsForm(obj=texts)
    if form.validate_on_submit():
        form.populate_obj(texts)
        texts.first_sms_text = (texts.first_sms_text or "").strip() or None
        texts.followup_sms_text = (texts.followup_sms_text or "").strip() or None
        texts.updated_by_id = current_user.id
        db.session.add(texts)
        db.session.commit()
        flash(_("Texts for %(group)s saved.", group=group.name), "success")
        return redirect(url_for("admin.product_group", group_id=group.id))
    if form.errors:
        flash(_("Please correct the marked fields."), "error")
    counts = {
        name: channels.channel(Channel.SMS).preview(form[name].data or "")
        for name in ("first_sms_text", "followup_sms_text")
    }
    return render_template(
        "admin/messaging/group.html",
        group=group,
        form=form,
        counts=counts,
        sample=SAMPLE_VARIABLES,
    ), (400 if form.errors else 200)

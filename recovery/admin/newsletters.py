"""Newsletter admin (G2): per group a newsletter with double opt-in and its sign-up form,
the embed snippets, and the subscribers with their consent proof."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import SUBSCRIPTION_STATUS_LABELS, Company, ContactGroup, Newsletter
from ..newsletters import settings
from ..newsletters.signup import SALUTATION_LABELS
from ..security import admin_required, int_arg
from . import bp
from .newsletter_forms import NewsletterForm
from .routes import PAGE


@bp.get("/newsletters")
@admin_required
def newsletters():
    groups = db.session.scalars(select(ContactGroup).order_by(ContactGroup.name)).all()
    own = {n.group_id: n for n in db.session.scalars(settings.visible(current_user))}
    return render_template(
        "admin/newsletters/index.html",
        groups=groups,
        newsletters=own,
        counts=settings.counts([n.id for n in own.values()]),
    )


def _group(group_id: int) -> ContactGroup:
    group = db.session.get(ContactGroup, group_id) or abort(404)
    newsletter = group.newsletter
    if newsletter is not None and current_user.company_id not in (None, newsletter.company_id):
        abort(404)  # another company's newsletter
    return group


def _companies() -> list[tuple[int, str]]:
    stmt = current_user.restrict(select(Company.id, Company.name), Company.id)
    choices = [(c_id, name) for c_id, name in db.session.execute(stmt.order_by(Company.name))]
    return choices if current_user.company_id else [(0, "–"), *choices]


@bp.route("/newsletters/group/<int:group_id>", methods=["GET", "POST"])
@admin_required
def newsletter(group_id: int):
    group = _group(group_id)
    current = group.newsletter
    form = NewsletterForm(obj=current)
    form.company_id.choices = _companies()
    if request.method == "GET":
        fields = (current.form_fields if current else None) or {}
        for name in settings.FORM_FIELDS:
            form[f"field_{name}"].data = bool(fields.get(name))
        if current is None:
            form.double_opt_in.data = True
            form.expire_hours.data = 72
            form.name.data = group.name
        form.company_id.data = (current.company_id if current else None) or (
            current_user.company_id or 0
        )
    if form.validate_on_submit():
        saved = settings.save(
            group,
            settings.Settings(
                name=form.name.data.strip(),
                description=(form.description.data or "").strip() or None,
                double_opt_in=form.double_opt_in.data,
                confirm_template_id=form.confirm_template_id.data,
                confirm_subject=(form.confirm_subject.data or "").strip() or None,
                confirm_text=(form.confirm_text.data or "").strip() or None,
                form_fields={n: form[f"field_{n}"].data for n in settings.FORM_FIELDS},
                expire_hours=form.expire_hours.data,
                company_id=form.company_id.data or None,
            ),
        )
        flash(_("Newsletter %(name)s saved.", name=saved.name), "success")
        return redirect(url_for("admin.newsletter", group_id=group.id))
    if form.errors:
        flash(_("Please correct the marked fields."), "error")
    urls = settings.embed(current) if current else None
    snippets = (
        {
            "iframe": render_template(
                "admin/newsletters/_iframe.html", newsletter=current, urls=urls
            ),
            "form": render_template(
                "admin/newsletters/_form.html",
                newsletter=current,
                urls=urls,
                fields=current.form_fields or {},
                salutations=SALUTATION_LABELS,
            ),
        }
        if current
        else None
    )
    return render_template(
        "admin/newsletters/edit.html",
        group=group,
        form=form,
        newsletter=current,
        urls=urls,
        snippets=snippets,
    ), (400 if form.errors else 200)


@bp.get("/newsletters/<int:newsletter_id>/subscribers")
@admin_required
def newsletter_subscribers(newsletter_id: int):
    newsletter = db.session.scalar(
        settings.visible(current_user).where(Newsletter.id == newsletter_id)
    ) or abort(404)
    status = request.args.get("status")
    status = status if status in settings.SUBSCRIPTION_STATUSES else None
    page = max(int_arg("page", 1), 1)
    rows, total = settings.subscribers(newsletter, status, page, PAGE)
    return render_template(
        "admin/newsletters/subscribers.html",
        newsletter=newsletter,
        rows=rows,
        total=total,
        status=status,
        statuses=SUBSCRIPTION_STATUS_LABELS,
        page=page,
        pages=max((total + PAGE - 1) // PAGE, 1),
    )

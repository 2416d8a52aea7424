"""Previews for the admin: a company's Mailjet template filled with a customer's
variables (PRODUCT.md M3). The SMS preview is the SMS channel's own."""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import Company, Customer, User
from ..models.message import Channel
from . import channels, outbox
from .mailjet import MailjetError, TemplateNotFound
from .options import MessagingOptions
from .variables import SAMPLE_VARIABLES


@dataclass(frozen=True)
class TemplatePreview:
    kind: str
    template_id: int
    variables: dict[str, str]
    customer: Customer | None
    subject: str = ""
    html: str = ""
    text: str = ""
    error: str | None = None


def preview_variables(customer: Customer | None, user: User | None) -> dict[str, str]:
    """A real customer's variables (sample values without one). The unsubscribe link
    is always the sample: clicking it in a preview must not unsubscribe anybody."""
    if customer is None:
        return dict(SAMPLE_VARIABLES)
    values = outbox.variables_for(customer, outbox.customer_context(customer), user)
    return {**values, "abmeldelink": SAMPLE_VARIABLES["abmeldelink"]}


def find_customer(number: str | None) -> Customer | None:
    number = (number or "").strip()
    if not number:
        return None
    return db.session.scalars(
        select(Customer).where(Customer.number == number).order_by(Customer.id).limit(1)
    ).first()


def template_preview(
    company: Company, kind: str, customer: Customer | None, user: User | None
) -> TemplatePreview | None:
    """The template fetched from Mailjet and filled in; None when the company has none."""
    template_id = company.voucher_template_id if kind == "voucher" else company.standard_template_id
    if not template_id:
        return None
    values = preview_variables(customer, user)
    return filled_template(TemplatePreview(kind, template_id, values, customer))


def filled_template(base: TemplatePreview) -> TemplatePreview:
    """``base`` with its template fetched from Mailjet and filled with its variables, or
    with the reason why it could not be fetched."""
    if outbox.offline():
        return _with(base, error=_("No Mailjet keys are set, so the template cannot be fetched."))
    email = channels.channel(Channel.EMAIL)
    options = MessagingOptions.from_config(current_app.config)
    try:
        with email.open(current_app.config, options) as transport:
            content = transport.get_template(base.template_id)
    except TemplateNotFound:
        return _with(base, error=_("Mailjet has no template %(id)s.", id=base.template_id))
    except MailjetError as exc:
        return _with(base, error=_("Mailjet could not be asked: %(error)s", error=str(exc)))
    subject, html, text = email.preview(content, base.variables)
    return _with(base, subject=subject, html=html, text=text)


def _with(preview: TemplatePreview, **changes) -> TemplatePreview:
    return replace(preview, **changes)

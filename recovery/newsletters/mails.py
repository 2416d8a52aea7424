"""The sign-up's emails: the confirmation with its signed link, and the notice to an
address that is subscribed already. Both are transactional (``marketing=False``): the
person asked for them, so the marketing cap and consent checks do not hold them; both
carry the unsubscribe link. They go through the outbox and worker like every message.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..extensions import db
from ..messaging import outbox
from ..models import Message, Newsletter, NewsletterSubscription, utcnow
from ..models.message import Channel, MessagePurpose
from . import tokens


def merchant_name(newsletter: Newsletter) -> str:
    company = newsletter.company
    return (company.sender_name or company.name) if company else ""


def public_url(endpoint: str, **values) -> str:
    """An address for the mail, built from the URL map (works in the worker too)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def confirm_url(sub: NewsletterSubscription) -> str:
    token = tokens.make_confirm_token(current_app.config["SECRET_KEY"], sub.id, sub.customer_id)
    return public_url("public.newsletter_confirm", token=token)


def queue_confirmation(sub: NewsletterSubscription) -> Message:
    """The mail with the confirmation link: the newsletter's Mailjet template with the
    variables, or its subject and our text with the merchant's own text."""
    db.session.flush()  # the subscription's id goes into the link
    newsletter, customer = sub.newsletter, sub.customer
    link = confirm_url(sub)
    values = _variables(sub, link)
    sub.confirm_sent_at = utcnow()
    if newsletter.confirm_template_id:
        return _store(sub, values, template_id=newsletter.confirm_template_id)
    with force_locale(customer.locale or "de"):
        subject = (newsletter.confirm_subject or "").strip() or _(
            "Please confirm: newsletter “%(name)s”", name=newsletter.name
        )
        lines = [
            _("Hello,"),
            "",
            _("Thank you for signing up for the newsletter “%(name)s”.", name=newsletter.name),
            _("To confirm your subscription, please click the following link:"),
            link,
            "",
            _(
                "Only after you click the confirmation link will your email address be "
                "added to our mailing list. If you do not want the newsletter, you need not "
                "do anything: you will receive no further emails from us."
            ),
            _("The link is valid for %(hours)s hours.", hours=newsletter.expire_hours),
            "",
            _("Your details"),
            _("First name: %(value)s", value=values["vorname"] or "–"),
            _("Last name: %(value)s", value=values["nachname"] or "–"),
            _("Email: %(value)s", value=values["email"]),
        ]
        if (newsletter.confirm_text or "").strip():
            lines += ["", newsletter.confirm_text.strip()]
        lines += ["", _("Unsubscribe: %(url)s", url=values["abmeldelink"])]
    return _store(sub, values, subject=subject, body="\n".join(lines))


def queue_already_subscribed(sub: NewsletterSubscription) -> Message:
    """The answer to a sign-up of an address that is subscribed: only its owner reads it."""
    newsletter, customer = sub.newsletter, sub.customer
    values = _variables(sub, "")
    with force_locale(customer.locale or "de"):
        subject = _("Newsletter “%(name)s”: you are subscribed", name=newsletter.name)
        body = "\n".join(
            [
                _("Hello,"),
                "",
                _(
                    "Someone – probably you – signed up this address for the newsletter "
                    "“%(name)s” again. You are subscribed already; nothing has changed.",
                    name=newsletter.name,
                ),
                "",
                _("Unsubscribe: %(url)s", url=values["abmeldelink"]),
            ]
        )
    return _store(sub, values, subject=subject, body=body)


def _variables(sub: NewsletterSubscription, link: str) -> dict[str, str]:
    customer = sub.customer
    values = outbox.variables_for(customer, outbox.customer_context(customer), None)
    values.update(
        newslettername=sub.newsletter.name,
        bestaetigungslink=link,
        mailtext=(sub.newsletter.confirm_text or "").strip(),
    )
    return values


def _store(
    sub: NewsletterSubscription,
    values: dict[str, str],
    template_id: int | None = None,
    subject: str | None = None,
    body: str | None = None,
) -> Message:
    company = sub.newsletter.company
    customer = sub.customer
    message = Message(
        customer_id=customer.id,
        company_id=company.id if company else None,
        channel=Channel.EMAIL,
        purpose=MessagePurpose.CONFIRMATION,
        marketing=False,
        template_kind="confirmation" if template_id else None,
        template_id=template_id,
        to_address=customer.email,
        to_name=values["name"] or None,
        from_address=company.sender_email if company else None,
        from_name=merchant_name(sub.newsletter) or None,
        subject=subject,
        body=body,
        variables=values,
    )
    db.session.add(message)
    db.session.flush()
    return message

"""Turning a signed unsubscribe link into a do-not-contact record.

Reading a link (:func:`read_link`) changes nothing: mail scanners open links with GET
and HEAD. Only :func:`unsubscribe` – the page's button or a mail client's one-click
POST – writes the record. The link of a newsletter's message leaves that newsletter only
(:func:`leave_newsletter`); the same page offers to stop all marketing mail as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Company, Customer, Message, Newsletter, NewsletterSubscription, utcnow
from . import consent
from .tokens import InvalidUnsubscribeToken, read_unsubscribe_token


class InvalidLink(Exception):
    pass


@dataclass(frozen=True)
class UnsubscribeLink:
    customer: Customer
    channels: tuple[str, ...]
    merchant: str | None  # the name the customer knows from the message's sender
    # The newsletter whose message carried the link (None: every other message, or a
    # newsletter deleted since – its link then unsubscribes from all marketing mail).
    newsletter: Newsletter | None = None


def read_link(token: str) -> UnsubscribeLink:
    """The link's customer, channels and merchant; :class:`InvalidLink` if not genuine."""
    try:
        data = read_unsubscribe_token(current_app.config["SECRET_KEY"], token)
    except InvalidUnsubscribeToken:
        raise InvalidLink() from None
    customer = db.session.get(Customer, data.customer_id)
    if customer is not None and customer.merged_into_id is not None:
        # a sign-up contact merged into the WaWi customer of its address since
        customer = db.session.get(Customer, customer.merged_into_id)
    if customer is None:
        raise InvalidLink()
    newsletter = (
        db.session.get(Newsletter, data.newsletter_id) if data.newsletter_id is not None else None
    )
    merchant = _merchant(customer, data.message_id, newsletter)
    return UnsubscribeLink(customer, data.channels, merchant, newsletter)


def unsubscribe(link: UnsubscribeLink) -> None:
    """Block the link's channels for its customer; works after the case closed too."""
    for channel in link.channels:
        block(link.customer, channel, "unsubscribed")


def leave_newsletter(link: UnsubscribeLink) -> None:
    """End the customer's subscription of the link's newsletter (state "unsubscribed",
    with the time); other newsletters and other marketing mail go on."""
    db.session.execute(
        update(NewsletterSubscription)
        .where(
            NewsletterSubscription.newsletter_id == link.newsletter.id,
            NewsletterSubscription.customer_id == link.customer.id,
            NewsletterSubscription.status != "unsubscribed",
        )
        .values(status="unsubscribed", unsubscribed_at=utcnow())
    )
    db.session.commit()


def _merchant(
    customer: Customer, message_id: int | None, newsletter: Newsletter | None = None
) -> str | None:
    """The company the message came from, else the newsletter's, else the one of the
    last order (it sends)."""
    from .outbox import customer_context

    message = db.session.get(Message, message_id) if message_id is not None else None
    company: Company | None = message.company if message else None
    if company is None or message.customer_id != customer.id:
        company = newsletter.company if newsletter and newsletter.company else None
    if company is None:
        company = customer_context(customer).company
    return (company.sender_name or company.name) if company else None


def block(customer: Customer, channel: str, reason: str, note: str | None = None) -> bool:
    """Write the do-not-contact record (:func:`consent.block`) and commit; True when new."""
    try:
        written = consent.block(customer.id, channel, reason, note)
        db.session.commit()
    except IntegrityError:  # another request wrote the record at the same moment
        db.session.rollback()
        return False
    return written

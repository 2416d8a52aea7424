"""Turning a signed unsubscribe link into a do-not-contact record."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Customer, DoNotContact
from .tokens import InvalidUnsubscribeToken, read_unsubscribe_token


class InvalidLink(Exception):
    pass


def unsubscribe_by_token(token: str) -> tuple[Customer, tuple[str, ...]]:
    """Block the token's channels for its customer; works after the case closed too."""
    try:
        data = read_unsubscribe_token(current_app.config["SECRET_KEY"], token)
    except InvalidUnsubscribeToken:
        raise InvalidLink() from None
    customer = db.session.get(Customer, data.customer_id)
    if customer is None:
        raise InvalidLink()
    for channel in data.channels:
        block(customer, channel, "unsubscribed")
    return customer, data.channels


def block(customer: Customer, channel: str, reason: str, note: str | None = None) -> bool:
    """Write a do-not-contact record once; True when it is new."""
    exists = db.session.scalar(
        select(DoNotContact).where(
            DoNotContact.customer_id == customer.id, DoNotContact.channel == channel
        )
    )
    if exists:
        return False
    db.session.add(DoNotContact(customer_id=customer.id, channel=channel, reason=reason, note=note))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True

"""Turning a signed unsubscribe link into a do-not-contact record."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Customer
from . import consent
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
    """Write the do-not-contact record (:func:`consent.block`) and commit; True when new."""
    try:
        written = consent.block(customer.id, channel, reason, note)
        db.session.commit()
    except IntegrityError:  # another request wrote the record at the same moment
        db.session.rollback()
        return False
    return written

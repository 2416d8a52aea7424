"""Whether a customer may get a marketing message on a channel, and why not (M5)."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, ScalarSelect, select

from ..extensions import db
from ..models import Customer, DoNotContact

DNC_TEXT = {
    "unsubscribed": _l("unsubscribed"),
    "hard_bounce": _l("address bounced"),
    "spam": _l("spam complaint"),
    "manual": _l("blocked by hand"),
    "imported": _l("blocked in the source system"),
}


def blocked_reason(customer: Customer, channel: str, marketing: bool = True) -> str | None:
    """None when the channel can be used; otherwise the reason in words.

    Reads the do-not-contact records from the database every time, so a record
    written after a message was queued is seen right before it is sent.
    """
    return blocked_reasons([customer], channel, marketing)[customer.id]


def blocked_reasons(
    customers: Iterable[Customer], channel: str, marketing: bool = True
) -> dict[int, str | None]:
    """:func:`blocked_reason` for many customers with one query (the worker's batches)."""
    customers = list(customers)
    if not customers:
        return {}
    records = dict(
        db.session.execute(
            select(DoNotContact.customer_id, DoNotContact.reason).where(
                DoNotContact.customer_id.in_([c.id for c in customers]),
                DoNotContact.channel == channel,
            )
        )
        .tuples()
        .all()
    )
    return {c.id: reason_from_record(c, channel, records.get(c.id), marketing) for c in customers}


def record_subquery(customer_id: ColumnElement[int], channel: str) -> ScalarSelect[str]:
    """The do-not-contact reason stored for ``customer_id`` on ``channel`` (or NULL), as
    a column for a bigger statement: the case page reads it along with the case."""
    return (
        select(DoNotContact.reason)
        .where(DoNotContact.customer_id == customer_id, DoNotContact.channel == channel)
        .scalar_subquery()
    )


def reason_from_record(
    customer: Customer, channel: str, record: str | None, marketing: bool = True
) -> str | None:
    """:func:`blocked_reason` with the do-not-contact ``record`` (its reason) read already."""
    address = customer.email if channel == "email" else (customer.mobile or None)
    if not address:
        return _("no email address") if channel == "email" else _("no mobile number")
    if record is not None:
        return str(DNC_TEXT.get(record, record))
    if marketing and customer.marketing_consent is False:
        return _("no marketing consent")
    return None

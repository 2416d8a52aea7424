"""Whether a customer may get a marketing message on a channel, and why not (M5)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, ScalarSelect, select, update

from ..extensions import db
from ..models import Customer, DoNotContact, NewsletterSubscription, utcnow
from ..models.bulk import among

DNC_TEXT = {
    "unsubscribed": _l("unsubscribed"),
    "hard_bounce": _l("address bounced"),
    "spam": _l("spam complaint"),
    "provider_block": _l("blocked by the email provider"),
    "manual": _l("blocked by hand"),
    "imported": _l("blocked in the source system"),
}


def block(
    customer_id: int,
    channel: str,
    reason: str,
    note: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Record that ``customer_id`` may not be contacted on ``channel`` any more.

    One record per customer and channel: a new reason (a spam complaint after an
    unsubscribe) becomes the one shown, the earlier ones stay in its ``history``; the
    same reason again changes nothing. True when something was written; the caller
    commits.
    """
    at = at or utcnow()
    if channel == "email" and reason in ENDS_NEWSLETTERS:
        _end_newsletters(customer_id, at)
    record = db.session.scalar(
        select(DoNotContact).where(
            DoNotContact.customer_id == customer_id, DoNotContact.channel == channel
        )
    )
    if record is not None and record.reason == reason:
        return False
    note = note[:500] if note else None
    entry = {"reason": reason, "note": note, "at": at.isoformat()}
    if record is None:
        db.session.add(
            DoNotContact(
                customer_id=customer_id,
                channel=channel,
                reason=reason,
                note=note,
                created_at=at,
                history=[entry],
            )
        )
    else:
        earlier = record.history or [
            {"reason": record.reason, "note": record.note, "at": record.created_at.isoformat()}
        ]
        record.reason, record.note, record.history = reason, note, [*earlier, entry]
    db.session.flush()
    return True


# An unsubscribe (link, one-click, Mailjet) or a spam complaint ends every newsletter
# subscription of the address too; a bounce or a block by hand leaves the consent as it is.
ENDS_NEWSLETTERS = ("unsubscribed", "spam")


def _end_newsletters(customer_id: int, at: datetime) -> None:
    db.session.execute(
        update(NewsletterSubscription)
        .where(
            NewsletterSubscription.customer_id == customer_id,
            NewsletterSubscription.status != "unsubscribed",
        )
        .values(status="unsubscribed", unsubscribed_at=at)
    )


def blocked_reason(customer: Customer, channel: str, marketing: bool = True) -> str | None:
    """None when the channel can be used; otherwise the reason in words.

    Reads the do-not-contact records from the database every time, so a record
    written after a message was queued is seen right before it is sent.
    """
    return blocked_reasons([customer], channel, marketing)[customer.id]


def record(customer_id: int, channel: str) -> str | None:
    """The reason of the customer's do-not-contact record on ``channel``, or None."""
    return db.session.scalar(
        select(DoNotContact.reason).where(
            DoNotContact.customer_id == customer_id, DoNotContact.channel == channel
        )
    )


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
                among(DoNotContact.customer_id, [c.id for c in customers]),
                DoNotContact.channel == channel,
            )
        )
        .tuples()
        .all()
    )
    return {c.id: reason_from_record(c, channel, records.get(c.id), marketing) for c in customers}


def records(customer_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """The customers' do-not-contact reasons per channel, with one query (the worker's
    batches, a page's rows); customers without a record are left out."""
    ids = list(set(customer_ids))
    found: dict[int, dict[str, str]] = {}
    if not ids:
        return found
    rows = db.session.execute(
        select(DoNotContact.customer_id, DoNotContact.channel, DoNotContact.reason).where(
            DoNotContact.customer_id.in_(ids)
        )
    )
    for customer_id, channel, reason in rows:
        found.setdefault(customer_id, {})[channel] = reason
    return found


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
    # None (the source does not say) is no refusal: the existing-customer exception of
    # UWG §7(3), see docs/reconnect.md "Consent".
    if marketing and customer.marketing_consent is False:
        return _("no marketing consent")
    return None

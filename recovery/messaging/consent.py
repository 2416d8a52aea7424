"""Whether a customer may get a marketing message on a channel, and why not (M5)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

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
    address = customer.email if channel == "email" else (customer.mobile or None)
    if not address:
        return _("no email address") if channel == "email" else _("no mobile number")
    record = db.session.scalar(
        select(DoNotContact).where(
            DoNotContact.customer_id == customer.id, DoNotContact.channel == channel
        )
    )
    if record is not None:
        return str(DNC_TEXT.get(record.reason, record.reason))
    if marketing and customer.marketing_consent is False:
        return _("no marketing consent")
    return None

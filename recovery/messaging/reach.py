"""Whether a customer can get a marketing message, as SQL for lists of 200 000 rows.

The decision itself is :func:`outbox.plan_channels` (the company's channel preference,
then :func:`consent.reason_from_record` per channel), checked right before every send.
This module says the same in SQL so a list can count and page reachable customers in
the database; ``tests/messaging/test_reach.py`` holds the two to the same answers. The
one thing SQL does not check is whether a mobile number parses as E.164: such a
customer is listed as reachable and refused with the reason when the message is built.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_

from ..models import Customer, DoNotContact, Message
from ..models.message import Channel, ChannelPreference
from .cap import COUNTED_STATES


def usable(channel: Channel) -> ColumnElement[bool]:
    """``Customer`` can get marketing on ``channel``: an address, no do-not-contact record
    for the channel, and marketing consent not refused."""
    address = Customer.email if channel == Channel.EMAIL else Customer.mobile
    return and_(
        address.is_not(None),
        address != "",
        ~exists().where(DoNotContact.customer_id == Customer.id, DoNotContact.channel == channel),
        Customer.marketing_consent.is_not(False),
    )


def reachable(preference: ColumnElement[str] | None) -> ColumnElement[bool]:
    """Some channel of the preference (a company's ``channel_preference``; NULL: both)
    can carry a marketing message to ``Customer``."""
    preference = func.coalesce(preference, literal(ChannelPreference.BOTH.value))
    email, sms = usable(Channel.EMAIL), usable(Channel.SMS)
    return or_(
        and_(preference == ChannelPreference.EMAIL.value, email),
        and_(preference == ChannelPreference.SMS.value, sms),
        and_(
            preference.in_((ChannelPreference.BOTH.value, ChannelPreference.SMS_ELSE_EMAIL.value)),
            or_(email, sms),
        ),
    )


def recently_contacted(since: datetime) -> ColumnElement[bool]:
    """``Customer`` got (or is about to get) a marketing message created after ``since``
    (the cap of PRODUCT.md R7; reads ``ix_message_customer_created``)."""
    return exists().where(
        Message.customer_id == Customer.id,
        Message.created_at >= since,
        Message.marketing.is_(True),
        Message.state.in_(COUNTED_STATES),
    )

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

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_
from sqlalchemy.orm import aliased

from ..models import Customer, DoNotContact, Message
from ..models.message import Channel, ChannelPreference
from .cap import COUNTED_STATES


class Reach:
    """The do-not-contact records of ``Customer`` joined once per channel (one row each at
    most: unique per customer and channel), and the decision over them.

    Joins instead of EXISTS per channel and preference: PostgreSQL counts a group of
    50 000 with two hash joins, and its estimates stay low enough not to compile the
    statement (JIT), which cost more than the count itself.
    """

    def __init__(self) -> None:
        self.records = {
            channel: aliased(DoNotContact, name=f"dnc_{channel.value}")
            for channel in (Channel.EMAIL, Channel.SMS)
        }

    def join(self, stmt: Select) -> Select:
        """``stmt`` (which has ``Customer``) with the records of both channels."""
        for channel, record in self.records.items():
            stmt = stmt.outerjoin(
                record, and_(record.customer_id == Customer.id, record.channel == channel.value)
            )
        return stmt

    def record(self, channel: Channel):
        """The reason of the customer's record on ``channel`` (or NULL), as a column."""
        return self.records[channel].reason

    def usable(self, channel: Channel) -> ColumnElement[bool]:
        """An address on ``channel`` and no do-not-contact record for it."""
        address = Customer.email if channel == Channel.EMAIL else Customer.mobile
        return and_(address.is_not(None), address != "", self.records[channel].id.is_(None))

    def reachable(self, preference: ColumnElement[str] | None) -> ColumnElement[bool]:
        """Some channel of the preference (a company's ``channel_preference``; NULL: both)
        can carry a marketing message: consent not refused (``marketing_consent`` not
        False; None is the existing-customer exception, docs/reconnect.md "Consent"), and
        email usable unless the preference is SMS only, or SMS usable unless it is email
        only."""
        preference = func.coalesce(preference, literal(ChannelPreference.BOTH.value))
        return and_(
            Customer.marketing_consent.is_not(False),
            or_(
                and_(preference != ChannelPreference.SMS.value, self.usable(Channel.EMAIL)),
                and_(preference != ChannelPreference.EMAIL.value, self.usable(Channel.SMS)),
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

"""SMS (PRODUCT.md M3, M4, M5): a mobile number in E.164, GSM-7/UCS-2 segments, the
unsubscribe notice every marketing SMS carries. Which provider sends it is chosen per
company (``mailjet_sms``, ``twilio``; modules ``mailjet_sms.py``, ``twilio_sms.py``)."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _

from ...models import Customer
from ...models.message import Channel
from .. import placeholders, sms
from ..variables import SAMPLE_VARIABLES
from .base import MessageChannel, register_channel


@register_channel
class SmsChannel(MessageChannel):
    name = Channel.SMS
    order = 1

    def address(self, customer: Customer) -> str | None:
        """The customer's mobile number in E.164, or None when it is no valid mobile."""
        return sms.normalise_phone(customer.mobile, customer.country or "DE", mobile_only=True)

    def refuse(self, customer: Customer, record: str | None, marketing: bool = True) -> str | None:
        reason = super().refuse(customer, record, marketing)
        if reason is None and self.address(customer) is None:
            reason = _("the mobile number %(number)s is not valid", number=customer.mobile)
        return reason

    def size_problem(self, body: str) -> str | None:
        count = sms.segments(body)
        if not count.too_long:
            return None
        return _(
            "The SMS is too long: %(n)s parts, at most %(max)s.",
            n=count.segments,
            max=sms.MAX_SEGMENTS,
        )

    @staticmethod
    def compose(text: str, values: Mapping[str, str], locale: str) -> str:
        """The SMS as it is sent: placeholders filled, the unsubscribe notice added."""
        return sms.add_unsubscribe_notice(
            placeholders.render(text or "", values), values["abmeldelink"], locale
        )

    def preview(self, text: str, locale: str = "de") -> tuple[str, sms.SmsCount]:
        """The SMS as a customer would get it (sample values, unsubscribe notice) and its size."""
        body = self.compose(text, SAMPLE_VARIABLES, locale)
        return body, sms.segments(body)

"""Mailjet's SMS API v4, the provider every company used before there was a choice.

Mailjet documents it for transactional messages only (issue 11 quotes its terms:
"marketing use of this service is strictly forbidden"). Win-back SMS are marketing,
so the company page says so next to the choice. They are not refused here:
companies sent them this way before this choice existed, and whether their Mailjet
contract allows it is for them to check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from ...models import Company
from ..mailjet import MailjetTransport
from ..options import MessagingOptions
from .base import SmsProvider, register_provider
from .email import EmailChannel


@register_provider
class MailjetSms(SmsProvider):
    name = "mailjet_sms"
    label = _l("Mailjet SMS")
    usage = _l(
        "Transactional messages only. Mailjet's terms forbid marketing use of its SMS "
        "service, and win-back SMS are marketing: use it only if your Mailjet contract "
        "allows it, otherwise choose another provider or email only."
    )
    marketing_allowed = False
    required_config = ("MAILJET_SMS_TOKEN",)
    not_set_up = _l("SMS sending is not set up (no Mailjet SMS token).")

    def sender(self, company: Company) -> str | None:
        return company.sms_sender

    def open(self, config: Mapping[str, Any], options: MessagingOptions) -> MailjetTransport:
        # The same Mailjet client as for email; it carries the SMS token.
        return EmailChannel.open(config, options)

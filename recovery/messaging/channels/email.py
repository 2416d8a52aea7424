"""Email through Mailjet's Send API (PRODUCT.md M1): a stored template per company."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...models import Customer
from ...models.message import Channel
from .. import placeholders
from ..mailjet import DEFAULT_BASE_URL, MailjetTransport, TemplateContent
from ..options import MessagingOptions
from .base import MessageChannel, register_channel


@register_channel
class EmailChannel(MessageChannel):
    name = Channel.EMAIL
    order = 0

    def address(self, customer: Customer) -> str | None:
        return customer.email or None

    @staticmethod
    def open(config: Mapping[str, Any], options: MessagingOptions) -> MailjetTransport:
        """The Mailjet transport for emails (and look-ups and template content)."""
        return MailjetTransport(
            config["MAILJET_API_KEY"],
            config["MAILJET_API_SECRET"],
            sms_token=config.get("MAILJET_SMS_TOKEN") or None,
            base_url=config.get("MAILJET_BASE_URL") or DEFAULT_BASE_URL,
            timeout=options.timeout_seconds,
            connect_timeout=min(5.0, options.timeout_seconds),
        )

    @staticmethod
    def preview(content: TemplateContent, values: Mapping[str, str]) -> tuple[str, str, str]:
        """Subject, HTML and text of a fetched template with ``values`` filled in."""
        return (
            placeholders.render(content.subject, values),
            placeholders.render(content.html, values, html=True),
            placeholders.render(content.text, values),
        )

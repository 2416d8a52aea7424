"""Twilio Programmable Messaging through the official ``twilio`` client.

Twilio's Messaging Policy (last updated April 9, 2026) counts "marketing messages"
among the application-to-person messages it carries, and requires the recipient's
consent before any message and a way to opt out; so win-back SMS may go through
Twilio to customers with consent, with the unsubscribe notice every marketing SMS
here carries. https://www.twilio.com/en-us/legal/messaging-policy

One ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` per SMS. Twilio has no
idempotency key for it, so an answer lost after the request went out stays
``unknown`` (the worker does not send that SMS again on its own).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import requests
from flask_babel import lazy_gettext as _l
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ...models import Company
from ..options import MessagingOptions
from ..transport import (
    ACCEPTED,
    REJECTED,
    RETRY,
    UNKNOWN,
    OutgoingSms,
    SendResult,
    never_connected,
)
from .base import SmsProvider, register_provider

DEFAULT_BASE_URL = "https://api.twilio.com"
# A Messaging Service SID: Twilio then picks the sender from the service's pool.
MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")


class TwilioTransport:
    """Sends SMS with one Twilio account; no retries inside the client."""

    def __init__(
        self, account_sid: str, auth_token: str, *, base_url: str = DEFAULT_BASE_URL, timeout=15.0
    ) -> None:
        # TwilioHttpClient mounts no retrying adapter: the worker alone decides when to retry.
        self._http = TwilioHttpClient(timeout=timeout)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        self._client.api.base_url = base_url.rstrip("/")

    def close(self) -> None:
        if self._http.session is not None:
            self._http.session.close()

    def __enter__(self) -> TwilioTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_sms(self, sms: OutgoingSms) -> SendResult:
        sender = (
            {"messaging_service_sid": sms.sender}
            if MESSAGING_SERVICE_SID.match(sms.sender)
            else {"from_": sms.sender}
        )
        try:
            message = self._client.messages.create(to=sms.to, body=sms.text, **sender)
        except TwilioRestException as exc:
            return _error_result(sms.custom_id, exc)
        except requests.RequestException as exc:
            outcome = RETRY if never_connected(exc) else UNKNOWN
            return SendResult(sms.custom_id, outcome, error_code="network", error_message=str(exc))
        except ValueError as exc:  # a 2xx answer that is no JSON
            return SendResult(
                sms.custom_id, UNKNOWN, error_code="bad-answer", error_message=str(exc)
            )
        if not message.sid:
            return SendResult(sms.custom_id, UNKNOWN, error_message="answer without sid")
        return SendResult(sms.custom_id, ACCEPTED, provider_id=message.sid)


def _error_result(custom_id: str, exc: TwilioRestException) -> SendResult:
    code = str(exc.code) if exc.code else f"http-{exc.status}"
    text = exc.msg or f"HTTP {exc.status}"
    if exc.status >= 500:
        outcome = UNKNOWN  # Twilio may have taken the message
    elif exc.status == 400:
        outcome = REJECTED  # e.g. 21211 invalid "To" number: trying again cannot help
    else:
        outcome = RETRY  # 429, refused credentials, wrong account: nothing was taken
    return SendResult(custom_id, outcome, error_code=code, error_message=text)


@register_provider
class TwilioSms(SmsProvider):
    name = "twilio"
    label = _l("Twilio")
    usage = _l(
        "Transactional and marketing messages. Twilio's Messaging Policy allows marketing "
        "SMS to customers who consented and can opt out: win-back SMS go only to customers "
        "with consent and always carry the unsubscribe link."
    )
    marketing_allowed = True
    required_config = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
    not_set_up = _l("SMS sending through Twilio is not set up (no Twilio account SID or token).")

    def sender(self, company: Company) -> str | None:
        return company.twilio_sender

    def open(self, config: Mapping[str, Any], options: MessagingOptions) -> TwilioTransport:
        return TwilioTransport(
            config["TWILIO_ACCOUNT_SID"],
            config["TWILIO_AUTH_TOKEN"],
            base_url=config.get("TWILIO_BASE_URL") or DEFAULT_BASE_URL,
            timeout=options.timeout_seconds,
        )

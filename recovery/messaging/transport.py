"""What every transport (Mailjet email, the SMS providers) hands back to the worker.

Every send ends in one of four outcomes, so the worker decides without knowing HTTP:

- ``accepted``: the provider took the message.
- ``rejected``: the provider refused it for good; the result carries the provider's
  own error code and text. ``halt`` marks a refusal of the account or the sender
  (key suspended or refused, sender not authorised): every further message would be
  refused the same way, so the worker stops the batch and tells the admin.
- ``retry``: the provider surely did not take it and trying later makes sense
  (connection never opened, 429).
- ``unknown``: the request may have been processed (read timeout, connection lost
  after the request went out, 5xx, unreadable answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

Outcome = Literal["accepted", "rejected", "retry", "unknown"]
ACCEPTED: Outcome = "accepted"
REJECTED: Outcome = "rejected"
RETRY: Outcome = "retry"
UNKNOWN: Outcome = "unknown"


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    custom_id: str
    sender: str
    to: str
    text: str


@dataclass(frozen=True, slots=True)
class SendResult:
    custom_id: str
    outcome: Outcome
    provider_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after: float | None = None
    provider_uuid: str | None = None
    halt: bool = False


class NotSetUp(Exception):
    """The provider lacks its keys in the configuration: nothing can be sent through it."""


class SmsTransport(Protocol):
    """One SMS provider's client, open for one worker."""

    def send_sms(self, sms: OutgoingSms) -> SendResult: ...

    def close(self) -> None: ...


def never_connected(exc: BaseException | None) -> bool:
    """True when the connection was never opened, so the request cannot have been sent."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if isinstance(exc, requests.ConnectionError) and exc.args else None
    # NewConnectionError (refused, DNS) is a ConnectTimeoutError in urllib3.
    return isinstance(reason, MaxRetryError) and isinstance(reason.reason, ConnectTimeoutError)

"""Worker and webhook settings from the app config, falling back to the environment.

Deployment settings (keys, credentials, limits) are not edited in the app. Each has
a sensible default; ``config.py`` may set any of them, otherwise the variable of the
same name in the environment is used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MessagingOptions:
    batch_size: int = 50  # emails per Send API call (Mailjet's maximum is 50)
    # Messages one worker claims and checks at once (consent, cap, still wanted), then
    # sends in calls of batch_size: the checks cost round trips per claim, not per call.
    claim_size: int = 500
    # API calls per second: the account's limit, shared by every worker of a PostgreSQL
    # database (pace.py); with SQLite, the one worker's.
    rate: float = 50.0
    lease_seconds: float = 300.0  # how long a claimed batch belongs to one worker
    lookup_delay_seconds: float = 60.0  # first look-up of a lost answer after this
    # A lost answer not found by CustomID is sent again only after this long: Mailjet's
    # message API can lag behind the Send API for a few minutes.
    lookup_grace_seconds: float = 600.0
    retry_base_seconds: float = 30.0  # back-off doubles from here …
    retry_max_seconds: float = 3600.0  # … up to here
    max_attempts: int = 8  # then the message fails with the last reason
    idle_seconds: float = 5.0  # pause when nothing is due
    timeout_seconds: float = 15.0  # read timeout of one Mailjet call
    error_report_email: str | None = None  # TemplateErrorReporting when the company has none
    default_sender: str | None = None  # From for internal mails of a company without sender
    webhook_user: str | None = None
    webhook_password: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MessagingOptions:
        def get(name: str) -> Any:
            value = config.get(name)
            return os.environ.get(name) if value in (None, "") else value

        def number(name: str, default: float, kind: type = float) -> Any:
            value = get(name)
            return default if value in (None, "") else kind(value)

        return cls(
            batch_size=min(number("WORKER_BATCH", 50, int), 50),
            claim_size=number("WORKER_CLAIM", 500, int),
            rate=number("MAILJET_RATE_PER_SECOND", 50.0),
            lease_seconds=number("WORKER_LEASE_SECONDS", 300.0),
            lookup_delay_seconds=number("MAILJET_LOOKUP_DELAY_SECONDS", 60.0),
            lookup_grace_seconds=number("MAILJET_LOOKUP_GRACE_SECONDS", 600.0),
            retry_base_seconds=number("MAILJET_RETRY_BASE_SECONDS", 30.0),
            retry_max_seconds=number("MAILJET_RETRY_MAX_SECONDS", 3600.0),
            max_attempts=number("MAILJET_MAX_ATTEMPTS", 8, int),
            idle_seconds=number("WORKER_IDLE_SECONDS", 5.0),
            timeout_seconds=number("MAILJET_TIMEOUT_SECONDS", 15.0),
            error_report_email=get("MAILJET_ERROR_REPORT_EMAIL") or None,
            default_sender=get("MAILJET_DEFAULT_SENDER") or None,
            webhook_user=get("MAILJET_WEBHOOK_USER") or None,
            webhook_password=get("MAILJET_WEBHOOK_PASSWORD") or None,
        )

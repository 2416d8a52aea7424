"""Mailjet transport on the official ``mailjet_rest`` client (PRODUCT.md M1, M4, M7).

Plain values in, plain values out; every send ends in one of the four outcomes of
``transport.py``. For Mailjet: ``accepted`` is ``Status: success``; ``rejected``
carries Mailjet's own ``ErrorCode`` and ``ErrorMessage``, with ``halt`` for a refused
or suspended key (HTTP 401, ``mj-0001``) and an unauthorised sender (``send-0006``,
``send-0007``, ``send-0008``; Send API v3.1 error table); ``retry`` includes the
account-level SMS limits; an ``unknown`` email is resolved with
:meth:`MailjetTransport.find_by_custom_id` before it is sent again.

mailjet-rest 1.9.1 mounts a retrying adapter on ``https://`` (3 retries, POST
included, on 429/5xx and on connection and read errors). A retried POST after a read
timeout can deliver an email twice, so every session gets an adapter without
retries: the worker alone decides when to try again.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from mailjet_rest import Client
from mailjet_rest import errors as mj_errors
from mailjet_rest.utils.guardrails import SecureHTTPAdapter, SecurityGuard
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .transport import (
    ACCEPTED,
    REJECTED,
    RETRY,
    UNKNOWN,
    OutgoingSms,
    SendResult,
    never_connected,
)

DEFAULT_BASE_URL = "https://api.mailjet.com/"
# Send API v3.1 takes at most 50 recipients per call (error send-0015 beyond that).
MAX_MESSAGES_PER_CALL = 50

# Send API v3.1 per-message errors (StatusCode 403) about the sender, not the message:
# the Sender header not allowed, SenderID not validated, From not authorised.
SENDER_REFUSED = frozenset({"send-0006", "send-0007", "send-0008"})

# SMS errors about the account (wallet, daily limit, setup), not about the message.
_SMS_ACCOUNT_ERRORS = frozenset({"sms-0001", "sms-0003", "sms-0004"})


class MailjetError(Exception):
    """A Mailjet call failed; ``status`` and ``code`` say how when Mailjet answered."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class MailjetUnavailable(MailjetError):
    """Mailjet could not be asked right now (network, 429, 5xx): try again later."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class TemplateNotFound(MailjetError):
    """The template ID does not exist for this API key."""


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """One email: a stored Mailjet template, or a subject with text/HTML of our own."""

    custom_id: str
    to_email: str
    from_email: str
    from_name: str = ""
    to_name: str = ""
    template_id: int | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    error_report_email: str | None = None
    unsubscribe_url: str | None = None
    event_payload: str | None = None

    def __post_init__(self) -> None:
        if not self.custom_id:
            raise ValueError("custom_id is required: it is how a lost answer is found again")
        if self.template_id is None and not (self.text or self.html):
            raise ValueError("an email needs a template_id or a text/html body")


@dataclass(frozen=True, slots=True)
class LookupResult:
    custom_id: str
    found: bool
    provider_id: str | None = None
    status: str | None = None
    count: int = 0


@dataclass(frozen=True, slots=True)
class TemplateContent:
    template_id: int
    subject: str
    html: str
    text: str


@dataclass(frozen=True, slots=True)
class _Reply:
    """What came back from one call: an HTTP answer, or why there was none."""

    status: int | None
    body: Any = None
    retry_after: float | None = None
    reached: bool = True  # False only when the request surely never left this machine
    error: str | None = None


class MailjetTransport:
    """Send API v3.1, Message API, template content and SMS API v4 for one API key."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        sms_token: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 15.0,
        connect_timeout: float = 5.0,
    ) -> None:
        timeouts = (min(connect_timeout, timeout), timeout)
        self._send_client = _client((api_key, api_secret), "v3.1", base_url, timeouts)
        self._rest_client = _client((api_key, api_secret), "v3", base_url, timeouts)
        self._sms_client = _client(sms_token, "v4", base_url, timeouts) if sms_token else None
        self._sms_url = base_url.rstrip("/") + "/v4/sms-send"

    def close(self) -> None:
        for client in (self._send_client, self._rest_client, self._sms_client):
            if client is not None:
                client.close()

    def __enter__(self) -> MailjetTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_emails(
        self, emails: Sequence[OutgoingEmail], *, sandbox: bool = False
    ) -> list[SendResult]:
        """Send up to 50 emails in one v3.1 call; one result per email, in order.

        ``sandbox`` is Mailjet's root-level ``SandboxMode``: validated, not delivered.
        """
        if not emails:
            return []
        if len(emails) > MAX_MESSAGES_PER_CALL:
            raise ValueError(f"at most {MAX_MESSAGES_PER_CALL} emails per call")
        payload: dict[str, Any] = {"Messages": [_message_payload(e) for e in emails]}
        if sandbox:
            payload["SandboxMode"] = True
        key = {"Idempotency-Key": idempotency_key(payload)}
        reply = self._call(lambda: self._send_client.send.create(data=payload, headers=key))
        messages = reply.body.get("Messages") if isinstance(reply.body, dict) else None
        # Per-message answers come with 200, or with 400/403 when some were refused.
        if reply.status is not None and reply.status < 500 and isinstance(messages, list):
            return [
                _message_result(e.custom_id, messages[i] if i < len(messages) else None)
                for i, e in enumerate(emails)
            ]
        return [_call_result(e.custom_id, reply) for e in emails]

    def send_sms(self, sms: OutgoingSms) -> SendResult:
        """Send one SMS. Mailjet's SMS API has no CustomID: an ``unknown`` stays unknown."""
        client = self._sms_client
        if client is None:
            raise MailjetError("no SMS token configured")
        payload = {"From": sms.sender, "To": sms.to, "Text": sms.text}
        reply = self._call(
            lambda: client.api_call(
                "POST", self._sms_url, data=payload, headers={"Content-Type": "application/json"}
            )
        )
        body = reply.body if isinstance(reply.body, dict) else {}
        if reply.status is not None and 200 <= reply.status < 300:
            message_id = body.get("MessageId", body.get("MessageID"))
            if message_id:
                return SendResult(sms.custom_id, ACCEPTED, provider_id=str(message_id))
            return SendResult(sms.custom_id, UNKNOWN, error_message="answer without MessageId")
        if reply.status == 400 and body.get("ErrorCode") in _SMS_ACCOUNT_ERRORS:
            code, text = _error_of(body, reply.status)
            return SendResult(sms.custom_id, RETRY, error_code=code, error_message=text)
        return _call_result(sms.custom_id, reply)

    def find_by_custom_id(self, custom_id: str) -> LookupResult:
        """Look a sent email up by our CustomID (``GET /v3/REST/message?CustomID=…``)."""
        reply = self._call(lambda: self._rest_client.message.get(filters={"CustomID": custom_id}))
        data = reply.body.get("Data") if isinstance(reply.body, dict) else None
        if reply.status != 200 or not isinstance(data, list):
            raise _failure(reply, "message lookup")
        if not data:
            return LookupResult(custom_id, found=False)
        first = data[0] if isinstance(data[0], dict) else {}
        message_id = first.get("ID")
        return LookupResult(
            custom_id,
            found=True,
            provider_id=str(message_id) if message_id else None,
            status=first.get("Status"),
            count=len(data),
        )

    def get_template(self, template_id: int) -> TemplateContent:
        """Subject, HTML and text of a stored template (``/template/{id}/detailcontent``)."""
        reply = self._call(lambda: self._rest_client.template_detailcontent.get(id=template_id))
        if reply.status == 404:
            raise TemplateNotFound(f"template {template_id} not found", status=404)
        data = reply.body.get("Data") if isinstance(reply.body, dict) else None
        if reply.status != 200 or not isinstance(data, list) or not data:
            raise _failure(reply, "template content")
        content = data[0] if isinstance(data[0], dict) else {}
        headers = content.get("Headers") if isinstance(content.get("Headers"), dict) else {}
        return TemplateContent(
            template_id=template_id,
            subject=str(headers.get("Subject") or ""),
            html=str(content.get("Html-part") or ""),
            text=str(content.get("Text-part") or ""),
        )

    @staticmethod
    def _call(call: Callable[[], requests.Response]) -> _Reply:
        """Run one client call and turn mailjet-rest's exceptions back into an answer."""
        try:
            response = call()
        except (mj_errors.TimeoutError, mj_errors.CriticalApiError) as exc:
            return _Reply(None, reached=not never_connected(exc.__cause__), error=str(exc))
        except mj_errors.ApiError as exc:
            # 4xx/5xx arrive as exceptions; the answer hangs on the requests error.
            response = getattr(exc.__cause__, "response", None)
            if response is None:
                return _Reply(None, error=str(exc))
        return _Reply(response.status_code, _json(response), _retry_after(response))


def _client(
    auth: str | tuple[str, str], version: str, base_url: str, timeouts: tuple[float, float]
) -> Client:
    client = Client(auth=auth, version=version, api_url=base_url, timeout=timeouts)
    # Same as requests' default adapter: no retries at all, not even on read errors.
    no_retries = Retry(0, read=False)
    client.session.mount("https://", SecureHTTPAdapter(max_retries=no_retries))
    client.session.mount("http://", HTTPAdapter(max_retries=no_retries))
    return client


def idempotency_key(payload: dict[str, Any]) -> str:
    """The ``Idempotency-Key`` mailjet-rest puts on a send call it gets without one: the
    SHA-256 of the payload as sorted JSON, without its volatile keys (``CustomID``,
    ``EventPayload``, ``SandboxMode``) at any depth. The client's own copy
    (``SecurityGuard.generate_payload_fingerprint``) guards every dict and list against
    cycles with a copied set of seen objects: a sixth of a worker's CPU per email for 50
    emails per call. Our payloads are built here, of plain dicts, lists and strings,
    without cycles; the key is the same (``tests/messaging/test_mailjet.py``)."""
    return hashlib.sha256(
        json.dumps(_stable(payload), sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()


_VOLATILE = SecurityGuard.VOLATILE_IDEMPOTENCY_KEYS
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _stable(data: Any) -> Any:
    """``data`` without the volatile keys; plain values are taken as they are (no call)."""
    if isinstance(data, dict):
        return {
            k: v if type(v) in _PLAIN else _stable(v) for k, v in data.items() if k not in _VOLATILE
        }
    if isinstance(data, (list, tuple, set)):
        return [v if type(v) in _PLAIN else _stable(v) for v in data]
    return data


def _message_payload(email_: OutgoingEmail) -> dict[str, Any]:
    message: dict[str, Any] = {
        "From": _address(email_.from_email, email_.from_name),
        "To": [_address(email_.to_email, email_.to_name)],
        "CustomID": email_.custom_id,
    }
    # Mailjet uses a placeholder's default only when the variable is not in the
    # call, so empty values are left out and {{var:NAME:"fallback"}} can apply.
    variables = {k: str(v) for k, v in email_.variables.items() if v is not None and v != ""}
    template_language = email_.template_id is not None or bool(email_.variables)
    if email_.template_id is not None:
        message["TemplateID"] = int(email_.template_id)
    if template_language:
        message["TemplateLanguage"] = True
        message["Variables"] = variables
        if email_.error_report_email:
            message["TemplateErrorReporting"] = {"Email": email_.error_report_email}
    for key, value in (
        ("Subject", email_.subject),
        ("TextPart", email_.text),
        ("HTMLPart", email_.html),
        ("EventPayload", email_.event_payload),
    ):
        if value:
            message[key] = value
    if email_.unsubscribe_url:
        message["Headers"] = {
            "List-Unsubscribe": f"<{email_.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    return message


def _address(address: str, name: str) -> dict[str, str]:
    return {"Email": address, "Name": name} if name else {"Email": address}


def _message_result(custom_id: str, item: Any) -> SendResult:
    """One entry of the ``Messages`` answer; Mailjet keeps the order of the request."""
    if not isinstance(item, dict):
        return SendResult(custom_id, UNKNOWN, error_message="no answer for this message")
    if item.get("Status") == "success":
        recipients = item.get("To") or [{}]
        first = recipients[0] if isinstance(recipients[0], dict) else {}
        message_id = first.get("MessageID")
        return SendResult(
            custom_id,
            ACCEPTED,
            provider_id=str(message_id) if message_id else None,
            provider_uuid=first.get("MessageUUID") or None,
        )
    if item.get("Status") == "error":
        errors = [e for e in item.get("Errors") or [] if isinstance(e, dict)]
        codes = ", ".join(str(e.get("ErrorCode", "")) for e in errors) or None
        texts = "; ".join(str(e.get("ErrorMessage", "")) for e in errors) or None
        statuses = [int(e.get("StatusCode") or 400) for e in errors] or [400]
        outcome = RETRY if any(s == 429 or s >= 500 for s in statuses) else REJECTED
        halt = any(e.get("ErrorCode") in SENDER_REFUSED for e in errors)
        return SendResult(custom_id, outcome, error_code=codes, error_message=texts, halt=halt)
    return SendResult(custom_id, UNKNOWN, error_message=f"unexpected status {item.get('Status')!r}")


def _call_result(custom_id: str, reply: _Reply) -> SendResult:
    """A result for an answer about the whole call rather than each message."""
    if reply.status is None:
        outcome = UNKNOWN if reply.reached else RETRY
        return SendResult(custom_id, outcome, error_code="network", error_message=reply.error)
    if 200 <= reply.status < 300:
        return SendResult(
            custom_id, UNKNOWN, error_code="bad-answer", error_message="unreadable answer"
        )
    code, text = _error_of(reply.body, reply.status)
    if reply.status >= 500:
        # Mailjet does not document that a 5xx means "not processed": it may have been.
        outcome = UNKNOWN
    elif reply.status in (400, 401, 413):
        outcome = REJECTED
    else:
        # 429, wrong URL: nothing was taken.
        outcome = RETRY
    return SendResult(
        custom_id,
        outcome,
        error_code=code,
        error_message=text,
        retry_after=reply.retry_after,
        # The key is refused or suspended (mj-0001): nothing goes out until it is fixed.
        halt=reply.status == 401,
    )


def _failure(reply: _Reply, what: str) -> MailjetError:
    if reply.status is None or reply.status == 429 or reply.status >= 500:
        return MailjetUnavailable(
            f"{what}: {reply.error or reply.status}",
            status=reply.status,
            retry_after=reply.retry_after,
        )
    code, text = _error_of(reply.body, reply.status)
    return MailjetError(f"{what}: {text}", status=reply.status, code=code)


def _error_of(body: Any, status: int) -> tuple[str, str]:
    body = body if isinstance(body, dict) else {}
    code = body.get("ErrorCode") or f"http-{status}"
    text = body.get("ErrorMessage") or body.get("ErrorInfo") or f"HTTP {status}"
    return str(code), str(text)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())

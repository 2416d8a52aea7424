"""A fake Mailjet on 127.0.0.1 that speaks the documented HTTP of the real one.

Endpoints: ``POST /v3.1/send`` (basic auth), ``GET /v3/REST/message?CustomID=…``,
``GET /v3/REST/template/{id}/detailcontent`` and ``POST /v4/sms-send`` (Bearer token).
Every accepted email and SMS is recorded, so a test can assert "delivered exactly
once" per CustomID. Faults (``fake.faults.add(kind, …)``), one per matching request:

- ``status``: answer ``status`` (500, 429, 503 …) in Mailjet's error shape, nothing taken;
- ``timeout``: take the message, then sleep ``seconds`` before answering (answer lost);
- ``drop``: take the message, then drop the connection without an answer;
- ``reset``: drop the connection before taking anything;
- ``broken_json``: take the message, answer 200 with a truncated body;
- ``answer``: answer ``status`` with ``body`` (one of Mailjet's documented examples,
  ``tests/data/vendor/mailjet/``), nothing taken.

``rate_limit`` answers 429 to calls beyond N per second, as Mailjet's limiter does.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from flask import Flask, jsonify, request

from .server import FakeServer, Fault, Faults

API_KEY = "mj-key"
API_SECRET = "mj-secret"
SMS_TOKEN = "mj-sms-token"
MAX_RECIPIENTS = 50
FORBIDDEN_HEADERS = frozenset(
    h.lower()
    for h in [
        "From",
        "Sender",
        "Subject",
        "To",
        "Cc",
        "Bcc",
        "Return-Path",
        "Delivered-To",
        "DKIM-Signature",
        "DomainKey-Status",
        "Received-SPF",
        "Authentication-Results",
        "Received",
        "X-Mailjet-Prio",
        "X-Mailjet-Debug",
        "User-Agent",
        "X-Mailer",
        "X-MJ-CustomID",
        "X-MJ-EventPayload",
        "X-MJ-Vars",
        "X-MJ-TemplateErrorDeliver",
        "X-MJ-TemplateErrorReporting",
        "X-MJ-TemplateLanguage",
        "X-Mailjet-TrackOpen",
        "X-Mailjet-TrackClick",
        "X-MJ-TemplateID",
        "X-MJ-WorkflowID",
        "X-Feedback-Id",
        "X-Mailjet-Segmentation",
        "List-Id",
        "X-MJ-MID",
        "X-MJ-ErrorMessage",
        "Date",
        "X-CSA-Complaints",
        "Message-Id",
        "X-Mailjet-Campaign",
        "X-MJ-StatisticsContactsListID",
    ]
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_AUTH_FAILURE = (
    "API key authentication/authorization failure. You may be unauthorized to access "
    "the API or your API key may be expired. Visit API keys management section to "
    "check your keys."
)


@dataclass
class SentEmail:
    message_id: int
    uuid: str
    custom_id: str | None
    to: str
    sender: str | None
    template_id: int | None
    variables: dict[str, Any]
    subject: str | None
    headers: dict[str, str]
    payload: dict[str, Any]
    arrived_at: str


@dataclass
class SentSms:
    message_id: str
    sender: str
    to: str
    text: str
    sms_count: int


@dataclass
class Template:
    subject: str = ""
    html: str = ""
    text: str = ""
    sender: str = ""


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


class FakeMailjet:
    def __init__(
        self,
        api_key: str = API_KEY,
        api_secret: str = API_SECRET,
        sms_token: str = SMS_TOKEN,
        *,
        templates: dict[int, Template] | None = None,
        senders: set[str] | None = None,
        rate_limit: int | None = None,
    ) -> None:
        self.api_key, self.api_secret, self.sms_token = api_key, api_secret, sms_token
        self.templates = dict(templates or {})
        self.senders = senders  # None: every sender is validated
        self.rate_limit = rate_limit
        self.faults = Faults()
        self.calls: list[tuple[str, str]] = []
        self._emails: list[SentEmail] = []
        self._sms: list[SentSms] = []
        self._window: deque[float] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(288230376151711744)
        self._app = self._flask_app()
        self._server: FakeServer | None = None
        self.url = ""

    # -- running ------------------------------------------------------------------------

    def start(self) -> FakeMailjet:
        self._server = FakeServer(self).start()
        self.url = self._server.url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> FakeMailjet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget messages, calls, faults and limits, so one server can serve many tests."""
        self.faults.clear()
        with self._lock:
            self.calls.clear()
            self._emails.clear()
            self._sms.clear()
            self._window.clear()
            self.senders = None
            self.rate_limit = None

    # -- what happened -------------------------------------------------------------------

    @property
    def emails(self) -> list[SentEmail]:
        with self._lock:
            return list(self._emails)

    @property
    def sms(self) -> list[SentSms]:
        with self._lock:
            return list(self._sms)

    def delivered(self, custom_id: str) -> list[SentEmail]:
        return [e for e in self.emails if e.custom_id == custom_id]

    def call_count(self, path: str) -> int:
        with self._lock:
            return sum(1 for _, p in self.calls if p == path)

    # -- WSGI: rate limit and faults around the Flask app ----------------------------------

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        with self._lock:
            self.calls.append((environ.get("REQUEST_METHOD", ""), path))
            limited = self._over_rate_limit()
        fault = None if limited else self.faults.take(path)
        if limited:
            answer = _error_answer(429, "Too many requests, please slow down.")
        elif fault is not None and fault.kind in ("status", "reset", "answer"):
            answer = self._fault_before(fault, environ)
        else:
            answer = self._run_app(environ)
            if fault is not None:
                answer = self._fault_after(fault, answer, environ)
        reason = "OK" if answer.status < 400 else "Error"
        start_response(f"{answer.status} {reason}", list(answer.headers.items()))
        return [answer.body]

    def _over_rate_limit(self) -> bool:
        if self.rate_limit is None:
            return False
        now = time.monotonic()
        while self._window and now - self._window[0] >= 1.0:
            self._window.popleft()
        if len(self._window) >= self.rate_limit:
            return True
        self._window.append(now)
        return False

    def _run_app(self, environ) -> _Answer:
        captured: dict[str, Any] = {}

        def start_response(status, headers, exc_info=None):
            captured["status"], captured["headers"] = int(status.split()[0]), dict(headers)

        result = self._app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        return _Answer(captured["status"], body, captured["headers"])

    @staticmethod
    def _fault_before(fault: Fault, environ) -> _Answer:
        if fault.kind == "answer":
            return _Answer(fault.status, (fault.body or "").encode())
        if fault.kind == "reset":
            _drop(environ)
        answer = _error_answer(fault.status, HTTPStatus(fault.status).phrase)
        if fault.retry_after is not None:
            answer.headers["Retry-After"] = fault.retry_after
        return answer

    @staticmethod
    def _fault_after(fault: Fault, answer: _Answer, environ) -> _Answer:
        if fault.kind == "timeout":
            time.sleep(fault.seconds or 3.0)
        elif fault.kind == "drop":
            _drop(environ)
        elif fault.kind == "broken_json":
            return _Answer(200, b'{"Messages": [ {"Status": "succ')
        return answer

    # -- the API ---------------------------------------------------------------------------

    def _flask_app(self) -> Flask:
        app = Flask(__name__)

        @app.post("/v3.1/send")
        def send():
            if not self._basic_auth_ok():
                return _error(401, _AUTH_FAILURE, "mj-0015")
            try:
                payload = json.loads(request.get_data(as_text=True))
            except ValueError:
                return _error(
                    400, "Malformed JSON, please review the syntax and properties types.", "mj-0002"
                )
            return self._send(payload)

        @app.get("/v3/REST/message")
        def messages():
            if not self._basic_auth_ok():
                return _error(401, _AUTH_FAILURE, "mj-0015")
            custom_id = request.args.get("CustomID")
            found = [e for e in self.emails if custom_id is None or e.custom_id == custom_id]
            data = [
                {"ID": e.message_id, "Status": "sent", "ArrivedAt": e.arrived_at} for e in found
            ]
            return jsonify({"Count": len(data), "Data": data, "Total": len(data)})

        @app.get("/v3/REST/template/<int:template_id>/detailcontent")
        def template_content(template_id: int):
            if not self._basic_auth_ok():
                return _error(401, _AUTH_FAILURE, "mj-0015")
            template = self.templates.get(template_id)
            if template is None:
                return jsonify(
                    {"ErrorInfo": "", "ErrorMessage": "Object not found", "StatusCode": 404}
                ), 404
            headers = {"Subject": template.subject, "From": template.sender}
            content = {"Headers": headers, "Html-part": template.html, "Text-part": template.text}
            return jsonify({"Count": 1, "Data": [content], "Total": 1})

        @app.post("/v4/sms-send")
        def sms_send():
            if request.headers.get("Authorization") != f"Bearer {self.sms_token}":
                return _error(401, "Not authorised.", "mj-0015")
            try:
                payload = json.loads(request.get_data(as_text=True))
            except ValueError:
                return _error(
                    400, "Malformed JSON, please review the syntax and properties types.", "mj-0002"
                )
            return self._send_sms(payload)

        return app

    def _basic_auth_ok(self) -> bool:
        header = request.headers.get("Authorization", "")
        expected = base64.b64encode(f"{self.api_key}:{self.api_secret}".encode()).decode()
        return header == f"Basic {expected}"

    def _send(self, payload: Any):
        messages = payload.get("Messages") if isinstance(payload, dict) else None
        if not isinstance(messages, list) or not messages:
            return _error(400, "Missing mandatory property.", "mj-0003", ["Messages"])
        recipients = sum(len(m.get("To") or []) for m in messages if isinstance(m, dict))
        if recipients > MAX_RECIPIENTS:
            return _error(
                400,
                f"Total number of recipients exceeded. Max allowed - {MAX_RECIPIENTS}.",
                "send-0015",
                ["To", "Bcc", "Cc"],
            )
        sandbox = payload.get("SandboxMode") is True
        results = []
        for message in messages:
            errors = self._validate(message) if isinstance(message, dict) else [_type("object")]
            if errors:
                results.append({"Status": "error", "Errors": errors})
            else:
                results.append(self._accept(message, sandbox))
        failed = any(r["Status"] == "error" for r in results)
        return jsonify({"Messages": results}), 400 if failed else 200

    def _validate(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        errors = []
        template = None
        if "TemplateID" in m:
            if not isinstance(m["TemplateID"], int) or isinstance(m["TemplateID"], bool):
                errors.append(_type("integer", ["TemplateID"]))
            else:
                template = self.templates.get(m["TemplateID"])
                if template is None:
                    errors.append(
                        _err(
                            "send-0010",
                            f'Template ID "{m["TemplateID"]}" doesn\'t exist for your account.',
                            ["TemplateID"],
                        )
                    )
        sender = m.get("From")
        if sender is None and not (template and template.sender):
            errors.append(
                _err("mj-0003", "The From is mandatory but missing from the input", ["From"])
            )
        elif sender is not None:
            errors += _address_errors(sender, "From")
            email_ = sender.get("Email") if isinstance(sender, dict) else None
            if not errors and self.senders is not None and email_ not in self.senders:
                errors.append(
                    _err(
                        "send-0008",
                        f'"{email_}" is not an authorized sender email address for your account.',
                        ["From"],
                        403,
                    )
                )
        to = m.get("To")
        if to is None:
            errors.append(_err("mj-0003", "The To is mandatory but missing from the input", ["To"]))
        elif not isinstance(to, list):
            errors.append(_type("array of emails", ["To"]))
        elif not to:
            errors.append(_err("mj-0007", "The To array cannot be empty.", ["To"]))
        else:
            for i, recipient in enumerate(to):
                errors += _address_errors(recipient, f"To[{i}]")
        if "TemplateID" not in m and not (m.get("TextPart") or m.get("HTMLPart")):
            errors.append(
                _err(
                    "send-0003",
                    'At least "HTMLPart", "TextPart" or "TemplateID" must be provided.',
                    ["HTMLPart", "TextPart", "TemplateID"],
                )
            )
        for key, expected in (
            ("TemplateLanguage", bool),
            ("Variables", dict),
            ("CustomID", str),
            ("EventPayload", str),
            ("Subject", str),
            ("Headers", dict),
        ):
            if key in m and not isinstance(m[key], expected):
                name = {bool: "bool", dict: "object", str: "string"}[expected]
                errors.append(_type(name, [key]))
        if isinstance(m.get("Subject"), str) and len(m["Subject"]) > 255:
            errors.append(
                _err(
                    "mj-0006",
                    "Characters limit exceeded for the property. Max allowed - 255.",
                    ["Subject"],
                )
            )
        if ("TemplateErrorReporting" in m or "TemplateErrorDeliver" in m) and m.get(
            "TemplateLanguage"
        ) is not True:
            errors.append(
                _err(
                    "send-0016",
                    "TemplateLanguage must be true to use TemplateErrorReporting.",
                    ["TemplateLanguage"],
                )
            )
        if "TemplateErrorReporting" in m:
            errors += _address_errors(m["TemplateErrorReporting"], "TemplateErrorReporting")
        headers = m.get("Headers") if isinstance(m.get("Headers"), dict) else {}
        for header in headers:
            if header.lower() in FORBIDDEN_HEADERS:
                errors.append(
                    _err(
                        "send-0011",
                        f'The header "{header}" cannot be set in Headers; use its property.',
                        [f'Headers["{header}"]'],
                    )
                )
        return errors

    def _accept(self, m: dict[str, Any], sandbox: bool) -> dict[str, Any]:
        to_entries = []
        for recipient in m["To"]:
            if sandbox:
                message_id, message_uuid = 0, ""
            else:
                message_id, message_uuid = next(self._ids), str(uuid.uuid4())
                sent = SentEmail(
                    message_id=message_id,
                    uuid=message_uuid,
                    custom_id=m.get("CustomID"),
                    to=recipient["Email"],
                    sender=(m.get("From") or {}).get("Email"),
                    template_id=m.get("TemplateID"),
                    variables=dict(m.get("Variables") or {}),
                    subject=m.get("Subject"),
                    headers=dict(m.get("Headers") or {}),
                    payload=m,
                    arrived_at=datetime.now(UTC).isoformat(timespec="seconds"),
                )
                with self._lock:
                    self._emails.append(sent)
            to_entries.append(
                {
                    "Email": recipient["Email"],
                    "MessageUUID": message_uuid,
                    "MessageID": message_id,
                    "MessageHref": f"https://api.mailjet.com/v3/REST/message/{message_id}",
                }
            )
        return {
            "Status": "success",
            "CustomID": m.get("CustomID", ""),
            "To": to_entries,
            "Cc": [],
            "Bcc": [],
        }

    def _send_sms(self, payload: Any):
        if not isinstance(payload, dict):
            return _error(400, 'Type mismatch. Expected type "object".', "mj-0004")
        for key in ("From", "To", "Text"):
            if not payload.get(key):
                return _error(400, "Missing mandatory property.", "mj-0003", [key])
            if not isinstance(payload[key], str):
                return _error(400, 'Type mismatch. Expected type "string".', "mj-0004", [key])
        sender, to, text = payload["From"], payload["To"], payload["Text"]
        if len(sender) < 3:
            return _error(
                400,
                "Characters limit below the minimum for the property. Min allowed - 3.",
                "mj-0020",
                ["From"],
            )
        if len(sender) > 11:
            return _error(
                400,
                "Characters limit exceeded for the property. Max allowed - 11.",
                "mj-0006",
                ["From"],
            )
        if not _E164.match(to):
            return _error(400, "Unsupported country code.", "sms-0002", ["To"])
        parts = 1 if len(text) <= 160 else -(-len(text) // 153)  # rough: the fake bills GSM-7
        now = int(time.time())
        sms = SentSms(
            message_id=str(next(self._ids)), sender=sender, to=to, text=text, sms_count=parts
        )
        with self._lock:
            self._sms.append(sms)
        return jsonify(
            {
                "From": sender,
                "To": to,
                "Text": text,
                "MessageId": sms.message_id,
                "SmsCount": parts,
                "CreationTS": now,
                "SentTS": now,
                "Cost": {"Value": 0.0012 * parts, "Currency": "EUR"},
                "Status": {"Code": 2, "Name": "sent", "Description": "Message sent"},
            }
        )


def _err(
    code: str, message: str, related: list[str] | None = None, status: int = 400
) -> dict[str, Any]:
    return {
        "ErrorIdentifier": str(uuid.uuid4()),
        "ErrorCode": code,
        "StatusCode": status,
        "ErrorMessage": message,
        "ErrorRelatedTo": related or [],
    }


def _type(expected: str, related: list[str] | None = None) -> dict[str, Any]:
    return _err("mj-0004", f'Type mismatch. Expected type "{expected}".', related)


def _error(status: int, message: str, code: str, related: list[str] | None = None):
    return jsonify(_err(code, message, related, status)), status


def _error_answer(status: int, message: str) -> _Answer:
    # The documented shape of a global error; Mailjet documents no ErrorCode for these.
    body = {"ErrorIdentifier": str(uuid.uuid4()), "StatusCode": status, "ErrorMessage": message}
    return _Answer(status, json.dumps(body).encode())


def _address_errors(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return [_type("object", [where])]
    address = value.get("Email")
    if not address:
        return [_err("mj-0012", "Empty string value is not allowed.", [f"{where}.Email"])]
    if not isinstance(address, str) or not _EMAIL.match(address):
        return [_err("mj-0013", f'"{address}" is an invalid email address.', [f"{where}.Email"])]
    return []


def _drop(environ) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError("fault: connection dropped")

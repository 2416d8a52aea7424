"""A fake Twilio on 127.0.0.1 that speaks the documented HTTP of Programmable Messaging.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP Basic auth (account
SID and auth token) and a form-encoded body (``To``, ``From`` or
``MessagingServiceSid``, ``Body``). It answers 201 with Twilio's example Message (see
``twilio_examples.py``) carrying what was sent, and errors in Twilio's error shape
(``code``, ``message``, ``more_info``, ``status``): 401/20003 for wrong credentials,
400/21211 for a ``To`` that is no E.164 number, 400/21602–21604 for missing fields.
``fail_next(status, error)`` makes the next request answer an error of its own
choosing (e.g. 429/20429), before anything is taken.
"""

from __future__ import annotations

import copy
import itertools
import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from flask import Flask, jsonify, request

from .server import FakeServer
from .twilio_examples import CREATE_MESSAGE_201, ERROR_20003, ERROR_21211

ACCOUNT_SID = "AC" + "1f" * 16
AUTH_TOKEN = "twilio-test-token"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class SentSms:
    sid: str
    to: str
    sender: str | None
    messaging_service_sid: str | None
    body: str


class FakeTwilio:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self._sent: list[SentSms] = []
        self._planned: deque[tuple[int, dict[str, Any]]] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: FakeServer | None = None
        self.url = ""

    def start(self) -> FakeTwilio:
        self._server = FakeServer(self._app()).start()
        self.url = self._server.url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        with self._lock:
            self._sent.clear()
            self._planned.clear()

    @property
    def sent(self) -> list[SentSms]:
        with self._lock:
            return list(self._sent)

    def fail_next(self, status: int, error: dict[str, Any], times: int = 1) -> None:
        """Answer the next ``times`` requests with ``error`` (Twilio's error shape)."""
        with self._lock:
            self._planned.extend([(status, error)] * times)

    def _app(self) -> Flask:
        app = Flask(__name__)

        @app.post("/2010-04-01/Accounts/<account_sid>/Messages.json")
        def create_message(account_sid: str):
            auth = request.authorization
            if (
                auth is None
                or (auth.username, auth.password) != (self.account_sid, self.auth_token)
                or account_sid != self.account_sid
            ):
                return jsonify(ERROR_20003), 401
            with self._lock:
                planned = self._planned.popleft() if self._planned else None
            if planned is not None:
                return jsonify(planned[1]), planned[0]
            return self._create(request.form)

        return app

    def _create(self, form):
        to, body = form.get("To"), form.get("Body")
        sender, service = form.get("From"), form.get("MessagingServiceSid")
        if not to:
            return _error(21604, "A 'To' phone number is required.")
        if not body:
            return _error(21602, "Message body is required.")
        if not (sender or service):
            return _error(21603, "A 'From' phone number is required.")
        if not _E164.match(to):
            error = dict(ERROR_21211, message=ERROR_21211["message"].format(to=to))
            return jsonify(error), 400
        sid = f"SM{next(self._ids):032x}"
        with self._lock:
            self._sent.append(SentSms(sid, to, sender, service, body))
        answer = copy.deepcopy(CREATE_MESSAGE_201)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        answer.update(
            account_sid=self.account_sid,
            sid=sid,
            to=to,
            body=body,
            messaging_service_sid=service,
            status="queued",
            date_sent=None,
            price=None,
            uri=f"{uri}.json",
            subresource_uris={"media": f"{uri}/Media.json"},
        )
        answer["from"] = sender
        return jsonify(answer), 201


def _error(code: int, message: str, status: int = 400):
    return jsonify(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
    ), status

"""One HTTP client for all HTTP connectors, and the keyset paging they share.

``HttpClient`` wraps a ``requests.Session`` with connect/read timeouts and retries with
exponential back-off and jitter. Retried: connection errors, timeouts, HTTP 408, 429
(waiting as long as ``Retry-After`` asks, capped) and 5xx, and 2xx answers whose body
is not JSON. 401/403 raise ``AuthenticationError`` at once, any other 4xx raises
``ConnectorError`` with the server's message. When the retries are used up the client
raises ``TransientError`` naming the request by method and path only: query strings
and exception texts may carry credentials, so they never reach a message.

``Watermark`` and ``keyset_pages`` read "everything changed at or after the newest
change seen" page by page, so a crash resumes at the last committed page, rows that
share a timestamp are neither skipped nor read twice, and rows changed while a run
pages through the source move to its end instead of shifting other rows past it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

import requests

from .base import (
    N_,
    AuthenticationError,
    ConfigurationError,
    ConnectorError,
    Message,
    SettingField,
    TransientError,
)

Sleep = Callable[[float], None]

HTTP_SETTINGS: tuple[SettingField, ...] = (
    SettingField(
        "connect_timeout", N_("Connect timeout (seconds)"), "int", required=False, default=10
    ),
    SettingField("read_timeout", N_("Read timeout (seconds)"), "int", required=False, default=60),
    SettingField(
        "max_retries",
        N_("Retries on temporary errors"),
        "int",
        required=False,
        default=4,
        help=N_(
            "Timeouts, rate limits (429), server errors (5xx) and broken answers are "
            "retried this many times with growing pauses before the sync fails."
        ),
    ),
)

RETRY_STATUSES = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    data: Any


class _Retry(NamedTuple):
    problem: str
    retry_after: float | None = None


class HttpClient:
    """A JSON API client for one base URL; ``service`` names the source in messages."""

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        max_retry_after: float = 300.0,
        sleep: Sleep = time.sleep,
        auth: Any = None,
        headers: Mapping[str, str] | None = None,
    ):
        self.base_url = check_base_url(base_url, service)
        self.service = service
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.session = requests.Session()
        self.session.auth = auth
        self.session.headers.update({"Accept": "application/json", **(headers or {})})

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], *, base_url: str, service: str, **kwargs: Any
    ) -> HttpClient:
        """Build a client from a connector's ``HTTP_SETTINGS`` values."""
        return cls(
            base_url,
            service=service,
            connect_timeout=settings["connect_timeout"],
            read_timeout=settings["read_timeout"],
            max_retries=settings["max_retries"],
            **kwargs,
        )

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """Send one request, retrying temporary faults; return the parsed JSON answer."""
        url = urljoin(self.base_url, path.lstrip("/"))
        what = f"{method} {urlsplit(url).path}"
        attempts = self.max_retries + 1
        attempt = 0
        while True:
            attempt += 1
            outcome = self._attempt(method, url, what, params, json, headers)
            if isinstance(outcome, HttpResponse):
                return outcome
            if attempt == attempts:
                raise TransientError(
                    N_(
                        "%(service)s %(problem)s on %(request)s; "
                        "gave up after %(attempts)s attempts"
                    ),
                    retry_after=outcome.retry_after,
                    service=self.service,
                    problem=outcome.problem,
                    request=what,
                    attempts=attempts,
                )
            wait = outcome.retry_after
            self.sleep(wait if wait is not None else self._backoff(attempt))

    def _attempt(
        self,
        method: str,
        url: str,
        what: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> HttpResponse | _Retry:
        """One try: the answer, a reason to retry, or a typed error for the rest."""
        try:
            response = self.session.request(
                method, url, params=params, json=json, headers=headers, timeout=self.timeout
            )
        except requests.Timeout as exc:
            return _Retry(Message(N_("timed out (%(error)s)"), error=type(exc).__name__))
        except (
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            return _Retry(Message(N_("connection failed (%(error)s)"), error=type(exc).__name__))
        except requests.RequestException as exc:
            raise ConnectorError(
                N_("%(service)s: %(request)s failed (%(error)s)"),
                service=self.service,
                request=what,
                error=type(exc).__name__,
            ) from None
        status = response.status_code
        if status in (401, 403):
            raise AuthenticationError(
                N_("authentication failed: %(detail)s"),
                detail=Message(
                    N_("%(service)s answered HTTP %(status)s to %(request)s: %(answer)s"),
                    service=self.service,
                    status=status,
                    request=what,
                    answer=server_message(response),
                ),
            )
        if status in RETRY_STATUSES or status >= 500:
            retry_after = self._retry_after(response.headers.get("Retry-After"))
            return _Retry(Message(N_("answered HTTP %(status)s"), status=status), retry_after)
        if status >= 400:
            raise ConnectorError(
                N_("%(service)s answered HTTP %(status)s to %(request)s: %(answer)s"),
                service=self.service,
                status=status,
                request=what,
                answer=server_message(response),
            )
        try:
            data = response.json() if response.content.strip() else None
        except ValueError:
            return _Retry(
                Message(
                    N_("answered HTTP %(status)s with a body that is not valid JSON"), status=status
                )
            )
        return HttpResponse(status, response.headers, data)

    def _backoff(self, attempt: int) -> float:
        """Exponential back-off with "equal jitter": half fixed, half random."""
        delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return delay / 2 + random.uniform(0, delay / 2)

    def _retry_after(self, value: str | None) -> float | None:
        """``Retry-After`` in seconds (delta-seconds or HTTP-date), capped; None if absent."""
        if not value:
            return None
        value = value.strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - datetime.now(UTC)).total_seconds()
        return min(max(seconds, 0.0), self.max_retry_after)


def check_base_url(base_url: str, service: str) -> str:
    """Refuse URLs that are not http(s); return the URL with one trailing slash."""
    parts = urlsplit((base_url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            N_("%(service)s: the URL must start with https:// and name a host"), service=service
        )
    return parts.geturl().rstrip("/") + "/"


def server_message(response: requests.Response) -> str:
    """The error text a JSON API put in its answer, or a short piece of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason or "no message"
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            parts = [str(errors[0].get(k)) for k in ("title", "detail") if errors[0].get(k)]
            if parts:
                return ": ".join(parts)
        for key in ("message", "error_description", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    return response.reason or "no message"


@dataclass(slots=True)
class Watermark:
    """The newest change time seen, and the ids already seen at exactly that time."""

    at: datetime | None = None
    ids: set[str] = field(default_factory=set)

    def is_new(self, at: datetime, key: str) -> bool:
        return self.at is None or at > self.at or (at == self.at and key not in self.ids)

    def advance(self, at: datetime, key: str) -> None:
        if self.at is None or at > self.at:
            self.at, self.ids = at, {key}
        elif at == self.at:
            self.ids.add(key)

    def to_json(self) -> dict[str, Any] | None:
        if self.at is None:
            return None
        return {"at": self.at.isoformat(), "ids": sorted(self.ids)}

    @classmethod
    def from_json(cls, value: Any) -> Watermark:
        """Read ``to_json`` output; a bare ISO timestamp means "from then on"."""
        if not value:
            return cls()
        if isinstance(value, str):
            return cls(parse_utc(value))
        return cls(parse_utc(value["at"]), set(value.get("ids", ())))


def keyset_pages(
    fetch: Callable[[Watermark, int], tuple[list[dict[str, Any]], bool]],
    key: Callable[[dict[str, Any]], tuple[datetime, str]],
    mark: Watermark,
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of rows not seen yet, advancing ``mark`` before each yield.

    ``fetch(mark, page)`` returns one page of rows changed at or after ``mark.at`` (all
    rows if None), sorted by change time and id, and whether more pages follow. After a
    page that moved the watermark the next request starts again at page 1 of the
    narrower range; a page whose rows all share the watermark's time (a bulk update)
    is stepped over.
    """
    page = 1
    while True:
        rows, more = fetch(mark, page)
        fresh = [row for row in rows if mark.is_new(*key(row))]
        before = mark.at
        for row in fresh:
            mark.advance(*key(row))
        if fresh:
            yield fresh
        if not more:
            return
        page = 1 if mark.at != before else page + 1


def parse_utc(value: str) -> datetime:
    """Parse an ISO 8601 timestamp; one without offset is taken as UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_decimal(value: Any) -> Decimal:
    """A JSON number or numeric string as Decimal; missing or empty is 0."""
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def clean_text(value: Any) -> str | None:
    """Stripped text; None for missing or blank values."""
    text = str(value).strip() if value is not None else ""
    return text or None

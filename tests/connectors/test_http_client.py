"""The shared HTTP client: retries, back-off, Retry-After, typed errors; keyset paging."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from flask import Flask, jsonify, request

from tests.fakes.server import FakeServer, FaultInjector
from wawi_connectors import (
    AuthenticationError,
    ConfigurationError,
    ConnectorError,
    TransientError,
)
from wawi_connectors.http import HttpClient, Watermark, keyset_pages


def _api() -> Flask:
    app = Flask("fake_api")

    @app.get("/api/items")
    def items():
        return jsonify(items=[1, 2, 3], echo=request.args.to_dict())

    @app.get("/api/missing")
    def missing():
        return jsonify(code="rest_no_route", message="No route was found."), 404

    @app.get("/api/forbidden")
    def forbidden():
        return jsonify(errors=[{"status": "403", "title": "Forbidden", "detail": "No ACL"}]), 403

    return app


@pytest.fixture
def api():
    injector = FaultInjector(_api())
    with FakeServer(injector) as server:
        injector.url = server.url
        yield injector


@pytest.fixture
def sleeps() -> list[float]:
    return []


def client(api, sleeps, **kwargs) -> HttpClient:
    options = {"read_timeout": 0.3, "connect_timeout": 0.3, "max_retries": 3, **kwargs}
    return HttpClient(api.url, service="Test shop", sleep=sleeps.append, **options)


def test_json_answer_is_parsed(api, sleeps):
    response = client(api, sleeps).request("GET", "/api/items", params={"page": 2})
    assert response.status == 200
    assert response.data == {"items": [1, 2, 3], "echo": {"page": "2"}}
    assert sleeps == []


def test_429_waits_as_long_as_retry_after_says(api, sleeps):
    api.faults.add("status", status=429, retry_after="7")
    assert client(api, sleeps).request("GET", "/api/items").data["items"] == [1, 2, 3]
    assert sleeps == [7.0]
    assert api.count("/api/items") == 2


def test_retry_after_as_http_date_is_honoured_and_capped(api, sleeps):
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    api.faults.add("status", status=503, retry_after=soon)
    api.faults.add("status", status=429, retry_after="3600")
    client(api, sleeps, max_retry_after=120).request("GET", "/api/items")
    assert 25 <= sleeps[0] <= 30
    assert sleeps[1] == 120


def test_retry_after_is_really_waited_for(api):
    api.faults.add("status", status=429, retry_after="1")
    http = HttpClient(api.url, service="Test shop", read_timeout=1, max_retries=1)
    started = time.monotonic()
    assert http.request("GET", "/api/items").status == 200
    assert time.monotonic() - started >= 0.95


def test_server_errors_back_off_exponentially_with_jitter(api, sleeps):
    api.faults.add("status", status=500, times=3)
    client(api, sleeps, backoff=1.0).request("GET", "/api/items")
    assert len(sleeps) == 3
    for attempt, slept in enumerate(sleeps, start=1):
        full = 2 ** (attempt - 1)
        assert full / 2 <= slept <= full


def test_gives_up_after_the_retry_limit_with_a_clear_message(api, sleeps):
    api.faults.add("status", status=502, times=10)
    with pytest.raises(TransientError) as caught:
        client(api, sleeps).request(
            "GET", "/api/items", params={"consumer_secret": "cs_do_not_show"}
        )
    message = str(caught.value)
    assert "Test shop answered HTTP 502 on GET /api/items" in message
    assert "gave up after 4 attempts" in message
    assert "cs_do_not_show" not in message
    assert api.count("/api/items") == 4
    assert len(sleeps) == 3


def test_broken_json_is_retried(api, sleeps):
    api.faults.add("broken_json", times=2)
    assert client(api, sleeps).request("GET", "/api/items").data["items"] == [1, 2, 3]
    assert len(sleeps) == 2


def test_broken_json_every_time_fails_transiently(api, sleeps):
    api.faults.add("broken_json", times=4)
    with pytest.raises(TransientError, match="not valid JSON"):
        client(api, sleeps).request("GET", "/api/items")


def test_timeout_is_retried(api, sleeps):
    api.faults.add("timeout", seconds=1.0)
    assert client(api, sleeps).request("GET", "/api/items").status == 200
    assert len(sleeps) == 1


def test_refused_connection_is_retried_then_fails(sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = HttpClient(
        f"http://127.0.0.1:{port}", service="Gone", max_retries=2, sleep=sleeps.append
    )
    with pytest.raises(TransientError, match=r"Gone connection failed .* after 3 attempts"):
        http.request("GET", "/api/items")
    assert len(sleeps) == 2


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_fail_at_once(api, sleeps, status):
    api.faults.add("status", status=status)
    with pytest.raises(AuthenticationError, match="^authentication failed: "):
        client(api, sleeps).request("GET", "/api/items")
    assert api.count() == 1
    assert sleeps == []


def test_forbidden_shows_the_servers_error_text(api, sleeps):
    with pytest.raises(AuthenticationError, match="Forbidden: No ACL"):
        client(api, sleeps).request("GET", "/api/forbidden")


def test_other_client_errors_are_not_retried(api, sleeps):
    with pytest.raises(ConnectorError) as caught:
        client(api, sleeps).request("GET", "/api/missing")
    assert not isinstance(caught.value, TransientError)
    assert "HTTP 404 to GET /api/missing: No route was found." in str(caught.value)
    assert api.count() == 1


@pytest.mark.parametrize("url", ["", "ftp://shop.example.com", "shop.example.com"])
def test_base_url_must_be_http(url):
    with pytest.raises(ConfigurationError):
        HttpClient(url, service="Test shop")


def _rows(spec: list[tuple[int, str]]) -> list[dict]:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    return [{"id": key, "at": base + timedelta(seconds=second)} for second, key in spec]


def test_keyset_pages_survive_more_equal_timestamps_than_a_page_holds():
    rows = _rows([(0, "a"), (1, "b"), (1, "c"), (1, "d"), (1, "e"), (1, "f"), (2, "g")])
    requests_seen = []

    def fetch(mark: Watermark, page: int):
        requests_seen.append((mark.at, page))
        matching = [r for r in rows if mark.at is None or r["at"] >= mark.at]
        chosen = matching[(page - 1) * 2 : page * 2]
        return chosen, page * 2 < len(matching)

    mark = Watermark()
    pages = list(keyset_pages(fetch, lambda r: (r["at"], r["id"]), mark))
    assert [r["id"] for page in pages for r in page] == list("abcdefg")
    assert mark.at == rows[-1]["at"] and mark.ids == {"g"}
    assert list(keyset_pages(fetch, lambda r: (r["at"], r["id"]), mark)) == []


def test_watermark_round_trips_and_accepts_a_bare_timestamp():
    mark = Watermark()
    at = datetime(2024, 5, 1, 10, tzinfo=UTC)
    mark.advance(at, "1")
    mark.advance(at, "2")
    mark.advance(at - timedelta(seconds=1), "0")
    assert Watermark.from_json(mark.to_json()) == mark
    assert Watermark.from_json("2024-05-01T10:00:00Z") == Watermark(at)
    assert not mark.is_new(at, "2") and mark.is_new(at, "3")

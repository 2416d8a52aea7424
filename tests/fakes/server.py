"""A tiny threaded HTTP server on 127.0.0.1 for fake third-party APIs.

Each fake is a WSGI app (usually a small Flask app) that speaks the real service's
documented HTTP. ``Faults`` lets a test make the next requests fail on purpose.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qs

from werkzeug.serving import make_server

from wawi_connectors import Batch, Connector, ProductRecord, ReadContext


@dataclass
class Fault:
    """One planned failure: ``kind`` is timeout, status, broken_json, drop or answer."""

    kind: str
    status: int = 500
    retry_after: str | None = None
    seconds: float = 0.0
    path: str | None = None  # only requests whose path starts with this
    body: str | None = None  # kind "answer": this body (a vendor's example) with ``status``


class Faults:
    """A queue of faults consumed by matching requests, one fault per request."""

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()

    def add(self, kind: str, times: int = 1, **kwargs) -> None:
        with self._lock:
            for _ in range(times):
                self._queue.append(Fault(kind, **kwargs))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def take(self, path: str) -> Fault | None:
        with self._lock:
            for fault in list(self._queue):
                if fault.path is None or path.startswith(fault.path):
                    self._queue.remove(fault)
                    return fault
        return None


def apply_fault(fault: Fault, environ) -> tuple[int, dict[str, str], bytes] | None:
    """Turn a fault into (status, headers, body), sleep for timeouts; None = go on."""
    if fault.kind == "timeout":
        time.sleep(fault.seconds or 3.0)
        return None
    if fault.kind == "drop":
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        raise ConnectionAbortedError("fault: connection dropped")
    if fault.kind == "broken_json":
        return 200, {"Content-Type": "application/json"}, b'{"data": [ {"broken'
    headers = {"Content-Type": "application/json"}
    if fault.retry_after is not None:
        headers["Retry-After"] = fault.retry_after
    return fault.status, headers, b'{"errors": [{"status": "%d"}]}' % fault.status


@dataclass(frozen=True)
class Call:
    """One request as the fake saw it (faulted ones included)."""

    method: str
    path: str
    query: dict[str, list[str]]


class FaultInjector:
    """WSGI middleware: logs every request; the next matching fault answers instead of ``app``."""

    def __init__(self, app, faults: Faults | None = None):
        self.app = app
        self.faults = faults or Faults()
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        call = Call(environ["REQUEST_METHOD"], path, parse_qs(environ.get("QUERY_STRING", "")))
        with self._lock:
            self.calls.append(call)
        fault = self.faults.take(path)
        if fault is not None:
            answer = apply_fault(fault, environ)
            if answer is not None:
                status, headers, body = answer
                headers = {**headers, "Content-Length": str(len(body))}
                start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
                return [body]
        return self.app(environ, start_response)

    def count(self, path_prefix: str = "/") -> int:
        """How many requests whose path starts with ``path_prefix`` arrived."""
        with self._lock:
            return sum(1 for call in self.calls if call.path.startswith(path_prefix))


class FakeServer:
    """Serve ``app`` on 127.0.0.1 on a free port in a daemon thread."""

    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Store:
    """What the app keeps of a sync: records upserted by (type, key) and the last cursor.

    ``sync`` commits batch by batch like the app does, so a test can stop a read
    half-way (a fault) and resume from the cursor of the last committed batch.
    """

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], object] = {}
        self.cursor: str | None = None
        self.batches: list[Batch] = []

    def commit(self, batch: Batch) -> None:
        for record in batch.records:
            key = record.sku if isinstance(record, ProductRecord) else record.external_id
            self.records[(type(record).__name__, key)] = record
        self.cursor = batch.cursor
        self.batches.append(batch)

    def sync(self, connector: Connector, stream: str, **context) -> list[Batch]:
        """Read ``stream`` from the stored cursor; return this run's batches."""
        batches = []
        for batch in connector.read(stream, ReadContext(cursor=self.cursor, **context)):
            self.commit(batch)
            batches.append(batch)
        return batches

    def of(self, record_type: type) -> dict[str, object]:
        return {k: r for (name, k), r in self.records.items() if name == record_type.__name__}

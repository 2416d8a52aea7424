"""One JSON line per request and per job (production), with the request id.

Each request gets an id: the ``X-Request-ID`` header when it is a plausible id (a
proxy's), else a new one; it is answered in ``X-Request-ID`` and logged with the
method, the path (without the query string, which may hold a searched name), the
status and the milliseconds. The worker logs each job's kind, id, state and
milliseconds (``jobs/worker.py``) to the logger ``recovery.jobs``. Any record that
carries ``fields`` (``extra={"fields": {…}}``) is written with them as JSON keys.

``LOG_FORMAT`` ("json" or "text"; production defaults to json) has the ``recovery``
loggers write INFO and up to stderr in that format; unset, logging is left as it is.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, request

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
request_log = logging.getLogger("recovery.requests")


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, message and its ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def init_app(app: Flask) -> None:
    fmt = app.config.get("LOG_FORMAT")
    if fmt not in (None, "", "json", "text"):
        raise RuntimeError(f"LOG_FORMAT must be json or text, not {fmt!r}")
    if fmt:
        _configure(fmt)

    @app.before_request
    def request_id() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):
        rid = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-ID"] = rid
        started = g.get("request_started")
        ms = round((time.perf_counter() - started) * 1000, 1) if started else None
        request_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "fields": {
                    "type": "request",
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "ms": ms,
                    "request_id": rid,
                }
            },
        )
        return response


_configured: set[str] = set()


def _configure(fmt: str) -> None:
    """Our loggers write INFO and up to stderr, once per process."""
    if fmt in _configured:
        return
    _configured.add(fmt)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logger = logging.getLogger("recovery")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

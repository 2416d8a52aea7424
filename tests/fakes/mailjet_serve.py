"""The fake Mailjet as a process of its own, for the production smoke run.

    .venv/bin/python -m tests.fakes.mailjet_serve --url-file /tmp/fake.url \
        --templates 6100000-6100999

It serves ``FakeMailjet`` (the same documented HTTP as in the tests) on a free port of
127.0.0.1, writes its base URL to ``--url-file`` once it listens, and runs until
SIGTERM or SIGINT. ``GET /_fake/emails`` lists the emails it took (Mailjet's message id,
CustomID, recipient and template), so a script can check that one arrived.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from pathlib import Path

from .mailjet import FakeMailjet, Template
from .server import FakeServer


def template_ids(spec: str) -> list[int]:
    """``6100000-6100999,6200001`` as a list of ids."""
    ids: list[int] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        first, _, last = part.partition("-")
        ids.extend(range(int(first), int(last or first) + 1))
    return ids


class WithListing:
    """The fake, plus ``GET /_fake/emails``."""

    def __init__(self, fake: FakeMailjet):
        self.fake = fake

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/_fake/emails":
            body = json.dumps(
                [
                    {
                        "message_id": e.message_id,
                        "custom_id": e.custom_id,
                        "to": e.to,
                        "template_id": e.template_id,
                        "arrived_at": e.arrived_at,
                    }
                    for e in self.fake.emails
                ]
            ).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        return self.fake(environ, start_response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url-file", required=True, type=Path)
    parser.add_argument("--templates", default="", help="template ids it knows, e.g. 1-9,20")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    templates = {i: Template(subject="Wir vermissen Sie") for i in template_ids(args.templates)}
    fake = FakeMailjet(templates=templates)
    server = FakeServer(WithListing(fake)).start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    args.url_file.write_text(server.url)
    print(f"fake Mailjet on {server.url}", flush=True)
    stopped.wait()
    server.stop()


if __name__ == "__main__":
    main()

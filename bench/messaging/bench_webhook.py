"""Benchmark of Mailjet's event webhook: one POST of N events (issue 13 item 9).

It creates a throwaway database on the server of ``--database-url`` (PostgreSQL),
stores M sent emails, each with a customer and a case, and posts N events about them
to ``POST /p/mailjet/events`` in one request (Mailjet's API version 2 sends arrays).
Then it runs the worker's job runner and the retry task until nothing is due, and
checks what the events did. It prints how long the request took (Mailjet retries a
post it has no answer for after 30 s), how long the processing took, and the counts.

    .venv/bin/python bench/messaging/bench_webhook.py
    .venv/bin/python bench/messaging/bench_webhook.py --events 50000 --messages 10000

The events, per message in turn: sent, open, click, a second open, and then every
tenth message a spam complaint, the others a soft bounce (no do-not-contact record).

Measured on the development machine (2 cores shared with other work, load 5-7;
PostgreSQL on 127.0.0.1), 50,000 events about 10,000 emails, 15.6 MB:

- before (processing in the request, one transaction per event): the POST answered
  after 638.8 s (the issue measured 185 s on a quieter machine); nothing for the worker.
- after (issue 13 item 9): the POST answered after 1.0-2.2 s; the worker's ``mailjet
  events`` job split and processed the events in 97.4 s (chunks of 500 per
  transaction, one insert for a chunk's history). Both end with the same effects:
  10,000 opens, 10,000 clicks, 9,000 bounces and 1,000 spam complaints in the history,
  1,000 do-not-contact records.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from recovery import create_app  # noqa: E402
from recovery.extensions import db  # noqa: E402
from recovery.models import (  # noqa: E402
    Case,
    CaseEvent,
    Company,
    Customer,
    DoNotContact,
    Message,
    WebhookEvent,
    utcnow,
)

USER, PASSWORD = "mailjet", "bench-hook"
START = 1767225600  # 2026-01-01 00:00 UTC


def throwaway_database(url: str) -> tuple[str, object]:
    base = make_url(url)
    name = f"recovery_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def seed(app, count: int) -> None:
    """``count`` customers, each with an open case and one sent email about it."""
    with app.app_context():
        db.create_all()
        shop = Company(name="Bench GmbH", sender_email="service@bench.example")
        db.session.add(shop)
        db.session.flush()
        now = utcnow()
        db.session.execute(
            Customer.__table__.insert(),
            [
                {
                    "source": "bench",
                    "external_id": str(i),
                    "number": f"K{i}",
                    "first_name": "Erika",
                    "last_name": f"Bench{i}",
                    "email": f"kunde{i}@example.de",
                    "marketing_consent": True,
                    "locale": "de",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(count)
            ],
        )
        ids = dict(db.session.execute(select(Customer.external_id, Customer.id)).tuples().all())
        db.session.execute(
            Case.__table__.insert(),
            [
                {
                    "customer_id": ids[str(i)],
                    "key": "decline",
                    "kind": "decline",
                    "company_id": shop.id,
                    "status": "contacted",
                    "opened_at": now,
                    "reason_params": {},
                }
                for i in range(count)
            ],
        )
        cases = dict(db.session.execute(select(Case.customer_id, Case.id)).tuples().all())
        db.session.execute(
            Message.__table__.insert(),
            [
                {
                    "customer_id": ids[str(i)],
                    "case_id": cases[ids[str(i)]],
                    "company_id": shop.id,
                    "channel": "email",
                    "purpose": "queue",
                    "marketing": True,
                    "template_kind": "standard",
                    "to_address": f"kunde{i}@example.de",
                    "to_name": f"Erika Bench{i}",
                    "from_address": "service@bench.example",
                    "from_name": "Bench",
                    "variables": {},
                    "state": "sent",
                    "provider_id": str(288230376151711744 + i),
                    "sent_at": now,
                    "attempts": 1,
                    "created_at": now,
                }
                for i in range(count)
            ],
        )
        db.session.commit()


def events(app, count: int) -> list[dict]:
    with app.app_context():
        rows = db.session.execute(
            select(Message.id, Message.provider_id, Message.to_address).order_by(Message.id)
        ).all()
    out: list[dict] = []
    step = 0
    while len(out) < count:
        for message_id, provider_id, address in rows:
            i = len(out)
            kind, extra = [
                ("sent", {"smtp_reply": "sent (250 2.0.0 OK)"}),
                ("open", {"ip": "127.0.0.1", "geo": "DE", "agent": "bench"}),
                ("click", {"url": f"https://shop.example/p/{message_id}"}),
                ("open", {"ip": "127.0.0.1", "geo": "DE", "agent": "bench"}),
                (
                    ("spam", {"source": "JMRPP"})
                    if message_id % 10 == 0
                    else (
                        "bounce",
                        {
                            "blocked": False,
                            "hard_bounce": False,
                            "error_related_to": "recipient",
                            "error": "quota exceeded",
                        },
                    )
                ),
            ][step % 5]
            out.append(
                {
                    "event": kind,
                    "time": START + i,
                    "MessageID": int(provider_id),
                    "Message_GUID": str(uuid.uuid5(uuid.NAMESPACE_OID, provider_id)),
                    "email": address,
                    "mj_campaign_id": 0,
                    "mj_contact_id": 0,
                    "customcampaign": "",
                    "CustomID": str(message_id),
                    "Payload": "",
                    **extra,
                }
            )
            if len(out) == count:
                break
        step += 1
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    url, drop = throwaway_database(args.database_url)
    try:
        app = create_app(
            "development",
            SQLALCHEMY_DATABASE_URI=url,
            MAILJET_WEBHOOK_USER=USER,
            MAILJET_WEBHOOK_PASSWORD=PASSWORD,
        )
        seed(app, args.messages)
        body = json.dumps(events(app, args.events)).encode()
        print(f"{args.events} events about {args.messages} emails, {len(body) / 1e6:.1f} MB")
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        client = app.test_client()
        started = time.monotonic()
        response = client.post(
            "/p/mailjet/events",
            data=body,
            content_type="application/json",
            headers={"Authorization": f"Basic {token}"},
        )
        answered = time.monotonic() - started
        print(f"POST answered {response.status_code} in {answered:.2f} s: {response.get_json()}")
        started = time.monotonic()
        with app.test_request_context():
            from recovery.jobs.worker import JobRunner

            jobs = JobRunner("bench", echo=lambda _line: None).run(once=True)
            processed_in = time.monotonic() - started
            processed = db.session.scalar(
                select(func.count(WebhookEvent.id)).where(WebhookEvent.processed_at.isnot(None))
            )
            stored = db.session.scalar(select(func.count(WebhookEvent.id)))
            history = dict(
                db.session.execute(
                    select(CaseEvent.kind, func.count()).group_by(CaseEvent.kind)
                ).all()
            )
            blocked = db.session.scalar(select(func.count(DoNotContact.id)))
        print(f"worker: {jobs} job(s), {processed_in:.2f} s")
        print(f"stored {stored} events, processed {processed}; history {history}; dnc {blocked}")
        print(f"request + processing: {answered + processed_in:.2f} s")
        return 0 if processed == args.events else 1
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()


if __name__ == "__main__":
    sys.exit(main())

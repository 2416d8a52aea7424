"""Shared pieces of the worker, webhook and admin messaging tests.

Import the fixtures you use by name (``from tests.messaging.messaging_fixtures import
mailjet, fake, online``). Every Mailjet call goes to the fake on 127.0.0.1 through the
real ``mailjet-rest`` client.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest

from recovery.extensions import db as _db
from recovery.messaging import outbox
from recovery.messaging.options import MessagingOptions
from recovery.messaging.sending_loop import SendingLoop
from recovery.models import Message, utcnow
from tests.conftest import make_user
from tests.fakes.mailjet import API_KEY, API_SECRET, SMS_TOKEN, FakeMailjet, Template

STANDARD, VOUCHER = 6100001, 6100002
TEMPLATES = {
    STANDARD: Template(
        subject="Wir vermissen Sie, {{var:vorname}}",
        html='<p>Hallo {{var:vorname:"Kundin, Kunde"}}, <a href="{{var:abmeldelink}}">ab</a></p>',
        text="Hallo {{var:vorname}}",
    ),
    VOUCHER: Template(subject="Ihr Gutschein", text="Gutschein für {{var:name}}"),
}

# Fast and deterministic: no back-off, no look-up delay, no grace, short timeouts.
FAST = MessagingOptions(
    rate=1000.0,
    lease_seconds=30.0,
    lookup_delay_seconds=0.0,
    lookup_grace_seconds=0.0,
    retry_base_seconds=0.0,
    retry_max_seconds=0.0,
    max_attempts=6,
    idle_seconds=0.01,
    timeout_seconds=0.5,
)


@pytest.fixture(scope="module")
def mailjet():
    with FakeMailjet(templates=TEMPLATES) as running:
        yield running


@pytest.fixture()
def fake(mailjet):
    mailjet.reset()
    return mailjet


@pytest.fixture()
def online(app, fake, monkeypatch):
    """The app with Mailjet keys, pointed at the fake."""
    for key, value in {
        "MAILJET_API_KEY": API_KEY,
        "MAILJET_API_SECRET": API_SECRET,
        "MAILJET_SMS_TOKEN": SMS_TOKEN,
        "MAILJET_BASE_URL": fake.url,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return fake


class Clock:
    """A settable "now" for the worker; starts a little after the real time, so what a
    test stores afterwards is due at once."""

    def __init__(self) -> None:
        self.value = utcnow() + timedelta(seconds=5)

    def __call__(self):
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += timedelta(seconds=seconds)


def run_worker(app, clock=None, **options):
    worker = SendingLoop(app, replace(FAST, **options), now=clock or utcnow)
    return worker.run(once=True)


def company(build, **fields):
    values = {
        "sender_email": "service@gartenwelt.example",
        "sender_name": "Gartenwelt",
        "standard_template_id": STANDARD,
        "voucher_template_id": VOUCHER,
        "offer_email": "angebote@gartenwelt.example",
        "shop_url": "https://shop.gartenwelt.example/",
        "sms_sender": "Gartenwelt",
    }
    values.update(fields)
    from recovery.models import Company

    existing = _db.session.query(Company).filter_by(name=values.get("name", "Gartenwelt GmbH"))
    return existing.one_or_none() or build.company(**values)


def case_for(build, shop=None, **customer_fields):
    """A case whose customer ordered twice from ``shop`` (created when not given)."""
    shop = shop or company(build)
    customer = build.customer(**customer_fields)
    now = utcnow()
    build.order(customer, now - timedelta(days=400), "800.00", "Dünger", shop)
    build.order(customer, now - timedelta(days=90), "120.50", "Saatgut", shop)
    return build.case(customer, shop)


def queue_emails(app, cases, kind="standard", user=None) -> list[int]:
    """Store one email per case, as the case button does; returns the message ids."""
    user = user or make_user("sales", name="Sven Sales")
    with app.test_request_context():
        ids = [outbox.queue_case_email(case, user, kind).id for case in cases]
    _db.session.commit()
    return ids


def messages(ids) -> dict[int, Message]:
    _db.session.expire_all()
    return {m.id: m for m in _db.session.query(Message).filter(Message.id.in_(ids))}


_bulk_numbers = itertools.count(1)


def bulk_messages(shop, n: int, **fields) -> list[int]:
    """``n`` customers with one queued standard email each, in one transaction."""
    from recovery.models import Customer

    numbers = [next(_bulk_numbers) for _ in range(n)]
    customers = [
        Customer(
            source="bulk",
            external_id=f"B{i}",
            number=f"B-{i}",
            first_name="Erika",
            last_name=f"Bulk{i}",
            email=f"bulk{i}@example.de",
            marketing_consent=True,
        )
        for i in numbers
    ]
    _db.session.add_all(customers)
    _db.session.flush()
    rows = []
    for i, c in enumerate(customers):
        values = {
            "customer_id": c.id,
            "company_id": shop.id,
            "channel": "email",
            "purpose": "queue",
            "marketing": True,
            "template_kind": "standard",
            "template_id": STANDARD,
            "to_address": c.email,
            "to_name": c.display_name,
            "from_address": shop.sender_email,
            "from_name": shop.sender_name,
            "variables": {"vorname": c.first_name, "abmeldelink": f"http://127.0.0.1:5000/p/u/{i}"},
        }
        values.update(fields)
        rows.append(Message(**values))
    _db.session.add_all(rows)
    _db.session.commit()
    return [m.id for m in rows]


# Test modules bind these by name (``mailjet, fake, online = FIXTURES``) so pytest finds them.
FIXTURES = (mailjet, fake, online)

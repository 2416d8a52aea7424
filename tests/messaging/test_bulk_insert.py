"""A worker's batch of messages inserted with one statement (``models.bulk``) stores
exactly what the ORM's own flush stores – every column, the Python defaults included –
and gives each message its id."""

from __future__ import annotations

import time_machine
from sqlalchemy import select

from recovery.extensions import db as _db
from recovery.messaging import outbox
from recovery.models import Message, ReorderReminder, utcnow
from recovery.models.bulk import insert_objects, insert_rows
from recovery.models.message import Channel
from tests.campaigns.helpers import shop


def _queue(customer, company, flush: bool) -> list[Message]:
    ctx = outbox.customer_context(customer)
    links = outbox.UnsubscribeLinks()
    email = outbox.queue_template_email(
        customer, ctx, company, 4713, "reorder_reminder", "reminder", None, links=links, flush=flush
    )
    sms = outbox.queue_text_sms(
        customer, ctx, company, "Hallo {{var:vorname}}!", "reminder", None, links=links, flush=flush
    )
    return [email, sms]


def _stored(ids: list[int]) -> list[dict]:
    _db.session.expire_all()
    rows = _db.session.scalars(select(Message).where(Message.id.in_(ids)).order_by(Message.id))
    columns = [c.key for c in Message.__table__.columns if c.key != "id"]
    return [{c: getattr(m, c) for c in columns} for m in rows]


def test_one_statement_stores_what_the_flush_stores(app, build):
    company = shop(build, channel_preference="both")
    anna = build.customer(first_name="Anna", mobile="+491701234567")
    # the clock stands still: ``send_after`` and ``created_at`` default to now
    with app.test_request_context(), time_machine.travel(utcnow(), tick=False):
        flushed = _queue(anna, company, flush=True)
        pending = _queue(anna, company, flush=False)
        insert_objects(pending)
        ids = [m.id for m in pending]
        assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 2
        _db.session.commit()
        by_flush, in_one = _stored([m.id for m in flushed]), _stored(ids)
    assert [m["channel"] for m in in_one] == [Channel.EMAIL, Channel.SMS]
    assert in_one[0]["state"] == "queued" and in_one[0]["attempts"] == 0
    assert in_one[1]["variables"]["vorname"] == "Anna"
    assert in_one == by_flush


def test_rows_with_an_existing_key_are_skipped_and_the_others_returned(app, build):
    company = shop(build)
    at = utcnow()
    orders = [
        build.order(build.customer(first_name=name), at, "10.00", "Saatgut", company)
        for name in ("Anna", "Berta")
    ]
    rows = [
        {
            "customer_id": o.customer_id,
            "product_group_id": build.group("Saatgut").id,
            "order_id": o.id,
            "mode": "after",
            "due_at": at,
            "state": "skipped",
            "reason": "ordered",
            "decided_at": at,
            "created_at": at,
        }
        for o in orders
    ]
    table, key = ReorderReminder.__table__, ("customer_id", "product_group_id", "order_id")
    with app.test_request_context():
        first = insert_rows(table, rows[:1], key, ("customer_id", "order_id"))
        both = insert_rows(table, rows, key, ("customer_id", "order_id"))
        _db.session.commit()
    anna, berta = orders
    assert first == [(anna.customer_id, anna.id)]
    assert both == [(berta.customer_id, berta.id)]  # Anna's row exists: skipped, no error
    stored = _db.session.scalars(select(ReorderReminder).order_by(ReorderReminder.id)).all()
    assert [(r.customer_id, r.due_at, r.reason) for r in stored] == [
        (anna.customer_id, at, "ordered"),
        (berta.customer_id, at, "ordered"),
    ]

"""Serial messages to a group or a newsletter (G4): the salutation from the customer data,
one message per recipient through the same outbox, worker, cap and consent checks as
every other marketing message, a job that goes on after it died, results from events."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, text

from recovery.campaigns import serial, serial_queue
from recovery.extensions import db
from recovery.messaging import webhook
from recovery.messaging.salutation import Addressee, salutation
from recovery.models import (
    ContactGroup,
    Customer,
    DoNotContact,
    GroupMember,
    Message,
    Newsletter,
    NewsletterSubscription,
    SerialMessage,
    utcnow,
)
from tests.campaigns.helpers import shop
from tests.conftest import make_user
from tests.messaging import messaging_fixtures
from tests.messaging.messaging_fixtures import STANDARD, run_worker

mailjet, fake, online = messaging_fixtures.FIXTURES  # used as pytest fixtures

pytestmark = pytest.mark.usefixtures("always_open")


# -- the salutation --------------------------------------------------------------------------


A = Addressee


@pytest.mark.parametrize(
    ("person", "mode", "expected"),
    [
        (A("Anna", "Schäfer", None, "ms", "de"), "formal", "Sehr geehrte Frau Schäfer"),
        (A("Jan", "Krause", None, "mr", "de"), "formal", "Sehr geehrter Herr Krause"),
        (A("Anna", "Schäfer", None, None, "de"), "formal", "Guten Tag Anna Schäfer"),
        (A(None, "Schäfer", "Schäfer KG", "ms", "de"), "formal", "Sehr geehrte Frau Schäfer"),
        (
            A(None, None, "Gartenbau Nord GmbH", None, "de"),
            "formal",
            "Sehr geehrte Damen und Herren",
        ),
        (A(None, None, None, None, "de"), "formal", "Guten Tag"),
        (A(" ", "", "", "ms", "de"), "formal", "Guten Tag"),
        (A("Anna", "Schäfer", None, "ms", "de"), "informal", "Hallo Anna"),
        (A(None, "Schäfer", "Schäfer KG", "ms", "de"), "informal", "Hallo"),
        (A("Anna", "Schäfer", None, "ms", "de"), "none", ""),
        (A("Anna", "Schäfer", None, "ms", "en"), "formal", "Dear Ms Schäfer"),
        (A("Jan", "Krause", None, "mr", "en"), "formal", "Dear Mr Krause"),
        (A("Anna", "Schäfer", None, None, "en"), "formal", "Dear Anna Schäfer"),
        (A(None, None, "Northern Gardens Ltd", None, "en"), "formal", "Dear Sir or Madam"),
        (A(None, None, None, None, "en"), "formal", "Hello"),
        (A("Anna", None, None, None, "en"), "informal", "Hello Anna"),
    ],
)
def test_the_salutation_for_each_shape_of_customer_data(person, mode, expected):
    assert salutation(person, mode) == expected


def test_an_unknown_salutation_mode_is_refused():
    with pytest.raises(ValueError):
        salutation(Addressee("Anna"), "casual")


# -- builders --------------------------------------------------------------------------------


def _group(name="Stammkunden", newsletter=False) -> ContactGroup:
    group = ContactGroup(name=name, active=True)
    db.session.add(group)
    db.session.flush()
    if newsletter:
        db.session.add(Newsletter(group_id=group.id, name=f"{name} aktuell"))
    db.session.commit()
    return group


def _members(group: ContactGroup, n: int, **fields) -> list[int]:
    """``n`` customers in ``group``, inserted in one statement each (fast for 10 000)."""
    start = (db.session.scalar(select(func.max(Customer.id))) or 0) + 1
    rows = [
        {
            "source": "bulk",
            "external_id": f"S{start + i}",
            "number": f"S-{start + i}",
            "first_name": "Anna",
            "last_name": f"Schäfer{start + i}",
            "email": f"anna{start + i}@example.de",
            "marketing_consent": True,
            "locale": "de",
            **fields,
        }
        for i in range(n)
    ]
    ids = list(db.session.scalars(insert(Customer).returning(Customer.id), rows))
    db.session.execute(
        insert(GroupMember),
        [{"group_id": group.id, "customer_id": i, "source": "hand"} for i in ids],
    )
    db.session.commit()
    return ids


def _serial(group, company, user, **fields) -> SerialMessage:
    values = {
        "name": "Frühjahr",
        "target": f"group:{group.id}",
        "company_id": company.id,
        "salutation": "formal",
        "subject": "Neu im Frühjahr, {{var:vorname}}",
        "body": "wir haben neues Saatgut.",
    }
    values.update(fields)
    created = serial.save_draft(serial.Draft(**values), user)
    db.session.commit()
    return created


def _queue(app, item: SerialMessage, user) -> None:
    with app.test_request_context():
        serial.send_now(item, user)
        db.session.commit()
        serial_queue.queue_messages(item.id, utcnow())


def _messages(item: SerialMessage) -> list[Message]:
    db.session.expire_all()
    return db.session.scalars(
        select(Message).where(Message.serial_message_id == item.id).order_by(Message.customer_id)
    ).all()


@pytest.fixture()
def admin(db):
    return make_user("admin", name="Ada Admin", email="ada@gartenwelt.example")


# -- sending ---------------------------------------------------------------------------------


def test_ten_thousand_members_each_get_one_message_and_the_cap_holds_the_recently_written(
    app, admin, build, online, run_jobs
):
    company = shop(build)
    group = _group()
    ids = _members(group, 10_000)
    recent, blocked, no_email = ids[:150], ids[150:200], ids[200:220]
    db.session.execute(
        insert(Message),
        [
            {
                "customer_id": i,
                "company_id": company.id,
                "purpose": "queue",
                "to_address": f"x{i}@example.de",
                "state": "sent",
                "sent_at": utcnow() - timedelta(days=2),
                "created_at": utcnow() - timedelta(days=2),
            }
            for i in recent
        ],
    )
    db.session.execute(
        insert(DoNotContact),
        [{"customer_id": i, "channel": "email", "reason": "unsubscribed"} for i in blocked],
    )
    db.session.query(Customer).filter(Customer.id.in_(no_email)).update({"email": None})
    db.session.commit()
    item = _serial(group, company, admin)
    with app.test_request_context():
        serial.send_now(item, admin)
        db.session.commit()
    run_jobs()
    db.session.refresh(item)
    assert (item.state, item.recipients) == ("sent", 10_000 - 50 - 20)
    assert item.skipped == {"unsubscribed": 50, "no_email": 20}

    stats = run_worker(app)
    assert (stats.sent, stats.held) == (10_000 - 70 - 150, 150)
    per_id = Counter(e.custom_id for e in online.emails)
    assert len(per_id) == 10_000 - 70 - 150 and set(per_id.values()) == {1}
    messages = {m.customer_id: m for m in _messages(item)}
    assert {messages[i].error_code for i in recent} == {"cap"}
    assert {messages[i].state for i in recent} == {"queued"}
    assert all(m.send_after > utcnow() + timedelta(days=4) for i in recent for m in [messages[i]])
    assert not set(blocked + no_email) & set(messages)
    email = online.emails[0]
    assert email.headers["List-Unsubscribe"].startswith("<http")
    body = email.payload["TextPart"]
    assert body.startswith("Guten Tag Anna Schäfer") and "Abmelden: http" in body
    assert email.subject == "Neu im Frühjahr, Anna"
    # Run again: nothing more goes out.
    assert run_worker(app).sent == 0
    assert len(online.emails) == 10_000 - 70 - 150


def test_a_newsletter_reaches_only_its_confirmed_subscribers(app, admin, build, online):
    company = shop(build)
    group = _group("Gartenfreunde", newsletter=True)
    confirmed, pending, gone, blocked = _members(group, 4)
    db.session.add(DoNotContact(customer_id=blocked, channel="email", reason="spam"))
    now = utcnow()
    for customer_id, status in (
        (confirmed, "confirmed"),
        (pending, "pending"),
        (gone, "unsubscribed"),
        (blocked, "confirmed"),
    ):
        db.session.add(
            NewsletterSubscription(
                newsletter_id=group.newsletter.id,
                customer_id=customer_id,
                status=status,
                source="form",
                confirmed_at=now if status != "pending" else None,
            )
        )
    db.session.commit()
    item = _serial(group, company, admin, target=f"newsletter:{group.id}", salutation="informal")
    _queue(app, item, admin)
    assert [m.customer_id for m in _messages(item)] == [confirmed]
    run_worker(app)
    [email] = online.emails
    assert email.payload["TextPart"].startswith("Hallo Anna,\n\nwir haben neues Saatgut.")


def test_a_template_message_carries_the_salutation_and_needs_the_unsubscribe_link(
    app, admin, build, online
):
    company = shop(build)
    group = _group()
    [customer_id] = _members(group, 1, salutation="ms")
    without_link = 6100099
    online.templates[without_link] = messaging_fixtures.Template(subject="Hallo", text="ohne")
    item = _serial(group, company, admin, template_id=without_link, subject="", body="")
    with app.test_request_context(), pytest.raises(serial.SerialError, match="6100099"):
        serial.send_now(item, admin)
    item.template_id = STANDARD
    db.session.commit()
    _queue(app, item, admin)
    run_worker(app)
    [email] = online.emails
    assert email.template_id == STANDARD
    assert email.variables["anrede"] == f"Sehr geehrte Frau Schäfer{customer_id}"
    assert email.variables["abmeldelink"].startswith("http")


def test_a_killed_workers_job_is_taken_over_and_queues_nobody_twice(app, admin, build, monkeypatch):
    from recovery.jobs import registry, rows
    from recovery.jobs.worker import JobRunner
    from recovery.models import JobRun

    company = shop(build)
    group = _group()
    ids = _members(group, 35)
    item = _serial(group, company, admin)
    monkeypatch.setattr(serial_queue, "CHUNK", 10)
    calls = []

    def killed_after_two_chunks(done):
        calls.append(done)
        if len(calls) == 2:
            raise SystemExit("worker killed")  # nothing after this runs in worker A

    with app.test_request_context():
        serial.send_now(item, admin)
        db.session.commit()
        job = rows.claim("worker-a", [serial.JOB_KIND])
        with pytest.raises(SystemExit):
            serial_queue.queue_messages(item.id, utcnow(), progress=killed_after_two_chunks)
        db.session.rollback()
        assert len(_messages(item)) == 20
        lease = registry.kind(serial.JOB_KIND).lease
        assert rows.claim("worker-b", [serial.JOB_KIND]) is None  # A's lease still runs
        taken = rows.claim("worker-b", [serial.JOB_KIND], now=utcnow() + lease + timedelta(1))
        assert (taken.id, taken.attempts) == (job.id, 2)
        JobRunner("worker-b", echo=lambda _line: None).run_claimed(taken)
    assert [m.customer_id for m in _messages(item)] == ids
    db.session.refresh(item)
    assert (item.state, item.recipients, item.queued_through) == ("sent", 35, ids[-1])
    done = db.session.get(JobRun, job.id)
    assert (done.state, done.result["queued"]) == ("done", 35)


def test_a_job_that_dies_while_writing_a_chunk_leaves_it_out_and_the_next_run_writes_it(
    app, admin, build, monkeypatch
):
    company = shop(build)
    group = _group()
    ids = _members(group, 35)
    item = _serial(group, company, admin)
    monkeypatch.setattr(serial_queue, "CHUNK", 10)
    written = []

    def dies_in_the_third_chunk(*args):
        written.append(args[1].id)
        if len(written) == 25:  # the third chunk is written while the second is stored
            raise SystemExit("worker killed")
        return serial.values_for(*args)

    monkeypatch.setattr(serial_queue, "values_for", dies_in_the_third_chunk)
    with app.test_request_context():
        serial.send_now(item, admin)
        db.session.commit()
        with pytest.raises(SystemExit):
            serial_queue.queue_messages(item.id, utcnow())
        db.session.rollback()
    assert [m.customer_id for m in _messages(item)] == ids[:10]  # the second chunk rolled back
    db.session.refresh(item)
    assert (item.state, item.queued_through, item.recipients) == ("queueing", ids[9], 10)
    monkeypatch.setattr(serial_queue, "values_for", serial.values_for)
    with app.test_request_context():
        serial_queue.queue_messages(item.id, utcnow())
    assert [m.customer_id for m in _messages(item)] == ids
    db.session.refresh(item)
    assert (item.state, item.recipients) == ("sent", 35)


def test_the_unique_key_refuses_a_second_message_for_a_recipient(app, admin, build):
    company = shop(build)
    group = _group()
    _members(group, 3)
    item = _serial(group, company, admin)
    _queue(app, item, admin)
    item.state, item.queued_through = "queueing", 0  # as if a second job started over
    db.session.commit()
    with app.test_request_context():
        serial_queue.queue_messages(item.id, utcnow())
    assert len(_messages(item)) == 3


def test_the_job_leaves_the_planner_statistics_of_the_messages_it_queued(app, admin, build):
    """PostgreSQL: the message table is analysed when the job is done, so the workers'
    claims know that many messages are queued (tests/messaging/test_sending_guard.py)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's statistics")
    company = shop(build)
    group = _group()
    _members(group, 300)
    item = _serial(group, company, admin)
    _queue(app, item, admin)
    states = db.session.execute(
        text(
            "SELECT most_common_vals::text FROM pg_stats"
            " WHERE tablename = 'message' AND attname = 'state'"
        )
    ).scalar_one()
    assert states == "{queued}"
    assert len(_messages(item)) == 300


def test_a_member_who_left_before_the_send_is_not_written_to(app, admin, build):
    company = shop(build)
    group = _group()
    stays, leaves = _members(group, 2)
    item = _serial(group, company, admin)
    _queue(app, item, admin)
    db.session.query(GroupMember).filter_by(customer_id=leaves).delete()
    db.session.commit()
    stats = run_worker(app)  # offline: the outbox
    assert (stats.outbox, stats.cancelled) == (1, 1)
    states = {m.customer_id: (m.state, m.last_error) for m in _messages(item)}
    assert states[stays] == ("outbox", None)
    assert states[leaves][0] == "cancelled" and "Kundengruppe" in states[leaves][1]


def test_the_messages_wait_for_the_send_window(app, admin, build):
    from recovery.campaigns.windows import SendWindows, save_windows

    company = shop(build)
    group = _group()
    _members(group, 2)
    save_windows({"weekdays": [utcnow().weekday()], "hours": [(utcnow().hour + 2) % 24]}, None)
    db.session.commit()
    item = _serial(group, company, admin)
    _queue(app, item, admin)
    expected = SendWindows.load().next_open(utcnow())
    assert {m.send_after for m in _messages(item)} == {expected} and expected > utcnow()
    assert run_worker(app).claimed == 0


def test_a_scheduled_message_starts_when_its_time_has_come(app, admin, build, run_jobs):
    company = shop(build)
    group = _group()
    _members(group, 2)
    item = _serial(group, company, admin)
    now = utcnow()
    with app.test_request_context():
        with pytest.raises(serial.SerialError):
            serial.schedule(item, now - timedelta(minutes=1), admin, now)
        serial.schedule(item, now + timedelta(hours=1), admin, now)
        db.session.commit()
        assert serial.start_due(now) == 0
        assert serial.start_due(now + timedelta(hours=1)) == 1
        assert serial.start_due(now + timedelta(hours=1)) == 0  # started once
    run_jobs()
    db.session.refresh(item)
    assert (item.state, item.recipients) == ("sent", 2)


def test_results_come_from_the_mailjet_events(app, admin, build, online):
    company = shop(build)
    group = _group()
    _members(group, 4)
    item = _serial(group, company, admin)
    _queue(app, item, admin)
    run_worker(app)
    a, b, c, d = _messages(item)

    def event(message, kind, **fields):
        return {
            "event": kind,
            "time": 1767225600,
            "MessageID": int(message.provider_id),
            "email": message.to_address,
            "CustomID": str(message.id),
            **fields,
        }

    events = [
        event(a, "open"),
        event(a, "open", time=1767225700),
        event(a, "click", url="https://shop.example/"),
        event(b, "open"),
        event(c, "unsub"),
        event(d, "bounce", hard_bounce=True, error="user unknown"),
    ]
    webhook.receive(json.dumps(events).encode())
    db.session.commit()
    webhook.process_posts()
    found = serial.results(item)
    assert (found.sent, found.opened, found.clicked, found.unsubscribed, found.bounced) == (
        4,
        2,
        1,
        1,
        1,
    )


def test_a_test_send_goes_to_oneself_with_a_members_data(app, admin, build):
    company = shop(build)
    group = _group()
    [customer_id] = _members(group, 1)
    item = _serial(group, company, admin)
    with app.test_request_context():
        message = serial.send_test(item, admin)
        db.session.commit()
    assert (message.to_address, message.marketing, message.customer_id) == (
        "ada@gartenwelt.example",
        False,
        None,
    )
    assert message.subject == "[Test] Neu im Frühjahr, Anna"
    assert message.body.startswith(f"Guten Tag Anna Schäfer{customer_id},")
    assert _messages(item) == []


def test_the_preview_shows_three_real_members_with_their_data(app, admin, build):
    company = shop(build)
    group = _group()
    ids = _members(group, 5)
    db.session.add(DoNotContact(customer_id=ids[0], channel="email", reason="manual"))
    db.session.commit()
    item = _serial(group, company, admin)
    with app.test_request_context():
        shown = serial.preview(item, admin)
    assert [p.customer.id for p in shown] == ids[1:4]
    assert shown[0].text.startswith(f"Guten Tag Anna Schäfer{ids[1]},")
    assert "example.com/abmelden/beispiel" in shown[0].text  # the sample link, harmless


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": " "}, "Name:"),
        ({"target": "group:999999"}, "Empfänger: Wählen Sie"),
        ({"target": "newsletter:GROUP"}, "hat keinen Newsletter"),
        ({"company_id": None}, "Absender:"),
        ({"salutation": "casual"}, "Anrede:"),
        ({"subject": ""}, "oder einen Betreff"),
        ({"template_id": 4711}, "entweder"),
    ],
)
def test_a_draft_with_a_mistake_names_it_and_nothing_is_stored(app, admin, build, change, message):
    company = shop(build)
    group = _group()
    values = {
        "name": "Frühjahr",
        "target": f"group:{group.id}",
        "company_id": company.id,
        "salutation": "formal",
        "subject": "Betreff",
        "body": "Text",
    }
    values.update(change)
    values["target"] = values["target"].replace("GROUP", str(group.id))
    with app.test_request_context(), pytest.raises(serial.SerialError, match=message):
        serial.save_draft(serial.Draft(**values), admin)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SerialMessage)) == 0

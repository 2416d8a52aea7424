"""Mailjet's event webhook: basic auth, store first, replays counted once, do-not-contact."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest

from recovery.messaging import consent, webhook
from recovery.models import CaseEvent, DoNotContact, JobRun, Message, WebhookEvent, utcnow
from tests.concurrency import at_once
from tests.messaging.messaging_fixtures import case_for, messages, queue_emails

USER, PASSWORD = "mailjet", "s3cret-hook"
URL = "/p/mailjet/events"
VENDOR = Path(__file__).parents[1] / "data" / "vendor" / "mailjet"


@pytest.fixture()
def hook(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAILJET_WEBHOOK_USER", USER)
    monkeypatch.setitem(app.config, "MAILJET_WEBHOOK_PASSWORD", PASSWORD)


def auth(user=USER, password=PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def send(client, events, headers=None):
    """One POST as Mailjet makes it; the worker has not run yet."""
    return client.post(
        URL, data=json.dumps(events), content_type="application/json", headers=headers or auth()
    )


@pytest.fixture()
def post(client, run_jobs):
    """POST the events, then let the worker run the job the post enqueued."""

    def post_and_process(events, headers=None):
        response = send(client, events, headers)
        run_jobs()
        return response

    return post_and_process


@pytest.fixture()
def sent(app, db, build):
    """A message that went out, with a case, a customer and a Mailjet message id."""
    [message_id] = queue_emails(app, [case_for(build)])
    message = db.session.get(Message, message_id)
    message.state, message.provider_id, message.sent_at = "sent", "288230376151711744", utcnow()
    db.session.commit()
    return message


def event(message, kind, **fields):
    values = {
        "event": kind,
        "time": 1767225600,
        "MessageID": int(message.provider_id or 0),
        "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j",
        "email": message.to_address,
        "mj_campaign_id": 0,
        "mj_contact_id": 0,
        "customcampaign": "",
        "CustomID": str(message.id),
        "Payload": "",
    }
    values.update(fields)
    return values


def dnc(customer_id) -> dict[str, str]:
    rows = DoNotContact.query.filter_by(customer_id=customer_id).all()
    return {r.channel: r.reason for r in rows}


@pytest.mark.parametrize(
    "headers",
    [{}, auth(password="wrong"), auth(user="other"), {"Authorization": "Bearer x"}],
    ids=["none", "wrong-password", "wrong-user", "bearer"],
)
def test_refused_without_the_right_credentials(client, db, hook, sent, headers, post):
    response = client.post(URL, data=json.dumps([event(sent, "spam")]), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert WebhookEvent.query.count() == 0 and dnc(sent.customer_id) == {}


def test_refused_when_no_credentials_are_configured(client, db, sent, post):
    assert post([event(sent, "spam")]).status_code == 401


def test_replay_is_counted_once(client, db, hook, sent, post):
    batch = [event(sent, "open"), event(sent, "click", url="https://shop.example/saatgut")]
    first = post(batch)
    assert first.status_code == 200 and first.get_json() == {"received": 2}
    again = post(batch)
    assert again.status_code == 200 and again.get_json() == {"received": 2}
    jobs = JobRun.query.filter_by(kind="mailjet events").order_by(JobRun.id).all()
    assert [(j.state, j.result["new"], j.result["processed"]) for j in jobs] == [
        ("done", 2, 2),
        ("done", 0, 0),
    ]
    assert WebhookEvent.query.count() == 2
    assert all(e.processed_at and e.message_id == sent.id for e in WebhookEvent.query)
    kinds = sorted(e.kind for e in CaseEvent.query.filter(CaseEvent.kind != "email"))
    assert kinds == ["clicked", "opened_email"]
    message = messages([sent.id])[sent.id]
    assert message.opened_at is not None and message.clicked_at is not None
    assert message.last_event in ("open", "click")


def test_single_event_body_of_api_version_1_is_accepted(client, db, hook, sent, post):
    assert post(event(sent, "open")).status_code == 200
    assert CaseEvent.query.filter_by(kind="opened_email").count() == 1


def test_second_open_and_same_click_add_no_history(client, db, hook, sent, post):
    post([event(sent, "open"), event(sent, "open", time=1767229200)])
    url = "https://shop.example/a"
    post([event(sent, "click", url=url), event(sent, "click", url=url, time=1767229300)])
    post([event(sent, "click", url="https://shop.example/b")])
    assert CaseEvent.query.filter_by(kind="opened_email").count() == 1
    clicks = CaseEvent.query.filter_by(kind="clicked").all()
    assert sorted(c.data["url"] for c in clicks) == [url, "https://shop.example/b"]
    assert WebhookEvent.query.count() == 5


@pytest.mark.parametrize(
    ("kind", "fields", "reason"),
    [
        (
            "bounce",
            {"hard_bounce": True, "error_related_to": "recipient", "error": "user unknown"},
            "hard_bounce",
        ),
        ("blocked", {"error_related_to": "domain", "error": "invalid domain"}, "hard_bounce"),
        ("blocked", {"error_related_to": "mailjet", "error": "preblocked"}, "hard_bounce"),
        ("spam", {"source": "JMRPP"}, "spam"),
        ("unsub", {"mj_list_id": 1}, "unsubscribed"),
    ],
)
def test_permanent_problems_block_the_address(client, db, hook, sent, kind, fields, reason, post):
    assert post([event(sent, kind, **fields)]).status_code == 200
    assert dnc(sent.customer_id) == {"email": reason}
    history = {e.kind for e in CaseEvent.query.filter_by(case_id=sent.case_id)}
    assert history & {"email_bounced", "email_blocked", "spam_complaint", "unsubscribed"}


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        (
            "bounce",
            {"hard_bounce": False, "error_related_to": "recipient", "error": "quota exceeded"},
        ),
        ("blocked", {"error_related_to": "spam", "error": "content blocked"}),
        ("blocked", {"error_related_to": "domain", "error": "greylisted"}),
    ],
)
def test_temporary_problems_do_not_block(client, db, hook, sent, kind, fields, post):
    post([event(sent, kind, **fields)])
    assert dnc(sent.customer_id) == {}
    assert messages([sent.id])[sent.id].last_error.startswith(kind)


def test_event_is_matched_by_message_id_without_custom_id(client, db, hook, sent, post):
    post([event(sent, "spam", CustomID="")])
    assert dnc(sent.customer_id) == {"email": "spam"}
    assert WebhookEvent.query.one().message_id == sent.id


def test_unknown_message_blocks_customers_by_address(client, db, hook, build, post):
    customer = build.customer(email="Kunde@Example.de")
    payload = {"event": "unsub", "time": 1767225600, "MessageID": 1, "email": "kunde@example.de"}
    post([payload])
    assert dnc(customer.id) == {"email": "unsubscribed"}


def test_sent_event_settles_a_message_whose_answer_was_lost(client, db, hook, sent, post):
    sent.state, sent.unknown_since, sent.provider_id = "unknown", utcnow(), None
    db.session.commit()
    post([event(sent, "sent", MessageID=4242, smtp_reply="sent (250 OK)")])
    message = messages([sent.id])[sent.id]
    assert message.state == "sent" and message.provider_id == "4242"
    assert message.unknown_since is None


def test_failed_processing_keeps_the_raw_event_for_the_worker(
    client, db, hook, sent, monkeypatch, post
):
    def broken(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(webhook, "_block", broken)
    response = post([event(sent, "spam")])
    assert response.status_code == 200  # stored: Mailjet must not send it again
    row = WebhookEvent.query.one()
    assert row.processed_at is None and "database hiccup" in row.error and row.attempts == 1
    assert json.loads(row.raw)["event"] == "spam"
    monkeypatch.undo()
    assert webhook.process_pending(utcnow()) == 0  # too fresh: left to the request
    assert webhook.process_pending(utcnow() + timedelta(minutes=2)) == 1
    assert dnc(sent.customer_id) == {"email": "spam"}
    assert WebhookEvent.query.one().processed_at is not None


def test_not_json_is_a_bad_request(client, db, hook, post):
    response = client.post(URL, data="not json", headers=auth())
    assert response.status_code == 400
    assert client.post(URL, data='[{"no": 1}]', headers=auth()).status_code == 400
    assert WebhookEvent.query.count() == 0


def test_history_shows_open_and_click_labels(client, db, hook, sent, login_as, post):
    post([event(sent, "open"), event(sent, "click", url="https://shop.example/x")])
    login_as("sales")
    html = client.get(f"/case/{sent.case_id}?list=contacted").get_data(as_text=True)
    assert "E-Mail geöffnet" in html or "opened the email" in html
    assert "Link geklickt" in html or "clicked a link" in html


# -- Mailjet's documented samples (tests/data/vendor/mailjet/) ------------------------------


def vendor_event(message, name, **fields):
    """Mailjet's sample event, tied to ``message`` (CustomID, MessageID, email)."""
    values = json.loads((VENDOR / name).read_text(encoding="utf-8"))
    values.update(
        CustomID=str(message.id), MessageID=int(message.provider_id), email=message.to_address
    )
    values.update(fields)
    return values


@pytest.mark.parametrize(
    ("name", "fields", "reason"),
    [
        ("event_bounce.json", {}, "hard_bounce"),
        # "true if this bounce leads to the recipient being blocked", even when soft
        (
            "event_bounce.json",
            {"blocked": True, "hard_bounce": False, "error": "quota exceeded"},
            "hard_bounce",
        ),
        ("event_blocked.json", {}, "hard_bounce"),
        ("event_blocked.json", {"error": "spam reporter"}, "spam"),
        ("event_blocked.json", {"error": "blacklisted"}, "provider_block"),
        ("event_spam.json", {}, "spam"),
        ("event_unsub.json", {}, "unsubscribed"),
    ],
    ids=["bounce", "blocked-bounce", "blocked", "spam-reporter", "blacklisted", "spam", "unsub"],
)
def test_mailjets_samples_block_the_address_for_good(
    client, db, hook, sent, name, fields, reason, post
):
    assert post([vendor_event(sent, name, **fields)]).status_code == 200
    assert dnc(sent.customer_id) == {"email": reason}


def test_soft_bounce_that_blocks_nothing_stays_temporary(client, db, hook, sent, post):
    fields = {"hard_bounce": False, "blocked": False, "error": "quota exceeded"}
    post([vendor_event(sent, "event_bounce.json", **fields)])
    assert dnc(sent.customer_id) == {}


def test_later_spam_and_unsub_show_the_latest_reason_and_keep_the_history(
    client, db, hook, sent, post
):
    post([vendor_event(sent, "event_unsub.json", time=1767225600)])
    post([vendor_event(sent, "event_spam.json", time=1767229200)])
    record = DoNotContact.query.filter_by(customer_id=sent.customer_id).one()
    assert record.reason == "spam"
    assert consent.blocked_reason(sent.customer, "email") == "Spam-Beschwerde"
    assert [(h["reason"], h["at"]) for h in record.history] == [
        ("unsubscribed", "2026-01-01T00:00:00+00:00"),
        ("spam", "2026-01-01T01:00:00+00:00"),
    ]
    # The same reason again changes nothing.
    post([vendor_event(sent, "event_spam.json", time=1767232800)])
    record = DoNotContact.query.filter_by(customer_id=sent.customer_id).one()
    assert record.reason == "spam" and len(record.history) == 2


# -- store and answer; the worker processes (issue 13 item 9) -------------------------------


def test_the_request_stores_the_post_in_one_insert_and_processes_nothing(
    app, client, db, hook, sent, run_jobs
):
    from sqlalchemy import event as sa_event

    from recovery.models import WebhookPost

    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split()[0].upper() + " " + statement)

    batch = [event(sent, "open", time=1767225600 + i) for i in range(200)]
    batch.append(event(sent, "spam"))
    sa_event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = send(client, batch)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 200 and response.get_json() == {"received": 201}
    inserts = [s for s in statements if s.startswith("INSERT")]
    assert len(inserts) == 2, inserts  # the post and its job
    assert not any("webhook_event" in s for s in inserts)
    post_row = WebhookPost.query.one()
    assert post_row.events == 201 and len(json.loads(post_row.body)) == 201
    assert WebhookEvent.query.count() == 0 and dnc(sent.customer_id) == {}
    job = JobRun.query.one()
    assert (job.kind, job.state, post_row.job_id) == ("mailjet events", "queued", job.id)

    assert run_jobs() == 1
    assert dnc(sent.customer_id) == {"email": "spam"}
    assert WebhookEvent.query.count() == 201
    assert WebhookEvent.query.filter(WebhookEvent.processed_at.is_(None)).count() == 0
    post_row = WebhookPost.query.one()
    assert post_row.body is None and post_row.split_at and post_row.done_at
    assert JobRun.query.one().result == {
        "posts": 1,
        "events": 201,
        "new": 201,
        "processed": 201,
        "failed": 0,
        "unprocessed": 0,
    }


class Killed(BaseException):
    """The worker process dies here (kill -9): nothing after this point is committed."""


def test_worker_killed_mid_way_loses_nothing_and_processes_nothing_twice(
    app, client, db, hook, sent, monkeypatch
):
    from recovery.jobs.worker import JobRunner

    monkeypatch.setattr(webhook, "CHUNK", 2)
    real_apply = webhook._apply
    calls: dict[int, int] = {}
    applied: dict[int, int] = {}

    def counting_apply(row, raw):
        calls[row.id] = calls.get(row.id, 0) + 1
        if sum(calls.values()) == 3:  # the first event of the second chunk
            raise Killed
        real_apply(row, raw)
        applied[row.id] = applied.get(row.id, 0) + 1

    monkeypatch.setattr(webhook, "_apply", counting_apply)
    batch = [
        event(sent, "sent"),
        event(sent, "open"),
        event(sent, "click", url="https://shop.example/a"),
        event(sent, "click", url="https://shop.example/b"),
        event(sent, "spam"),
    ]
    assert send(client, batch).status_code == 200
    with pytest.raises(Killed):
        JobRunner("worker-1", echo=lambda _line: None).run(once=True)
    db.session.rollback()  # the dead worker's open transaction is gone
    db.session.expire_all()
    job = JobRun.query.one()
    assert job.state == "running" and job.lease_owner == "worker-1"
    assert WebhookEvent.query.count() == 5  # the split was committed whole
    assert WebhookEvent.query.filter(WebhookEvent.processed_at.isnot(None)).count() == 2

    # Before the lease runs out nobody takes the job; after it, another worker does.
    assert JobRunner("worker-2", echo=lambda _line: None).run(once=True) == 0
    later = lambda: utcnow() + timedelta(minutes=6)  # noqa: E731
    assert JobRunner("worker-2", echo=lambda _line: None, now=later).run(once=True) == 1
    db.session.expire_all()
    job = JobRun.query.one()
    assert job.state == "done" and job.attempts == 2
    assert job.result["processed"] == 3 and job.result["unprocessed"] == 0
    assert sorted(applied.values()) == [1, 1, 1, 1, 1]  # each event's effects once
    assert WebhookEvent.query.filter(WebhookEvent.processed_at.is_(None)).count() == 0
    kinds = sorted(e.kind for e in CaseEvent.query.filter(CaseEvent.kind != "email"))
    assert kinds == ["clicked", "clicked", "opened_email", "spam_complaint"]
    assert len(DoNotContact.query.filter_by(customer_id=sent.customer_id).one().history) == 1
    # Processing them again (a second worker holding stale ids) does nothing.
    assert webhook.process([e.id for e in WebhookEvent.query]) == 0
    assert sorted(applied.values()) == [1, 1, 1, 1, 1]


def test_a_post_whose_job_failed_is_taken_up_again(app, client, db, hook, sent, monkeypatch):
    from recovery.jobs.worker import JobRunner
    from recovery.messaging.jobs import webhook_events
    from recovery.models import WebhookPost

    def database_gone(*args, **kwargs):
        raise RuntimeError("server closed the connection unexpectedly")

    monkeypatch.setattr(webhook, "split", database_gone)
    send(client, [event(sent, "unsub")])
    JobRunner("w", echo=lambda _line: None).run(once=True)
    assert JobRun.query.one().state == "failed"
    monkeypatch.undo()
    assert dnc(sent.customer_id) == {} and WebhookPost.query.one().done_at is None
    assert webhook_events(utcnow()) == 0  # not yet: it may still be looked into
    assert webhook_events(utcnow() + timedelta(minutes=11)) == 1
    assert webhook_events(utcnow() + timedelta(minutes=11)) == 0  # its new job is queued
    JobRunner("w", echo=lambda _line: None).run(once=True)
    assert dnc(sent.customer_id) == {"email": "unsubscribed"}
    assert WebhookPost.query.one().done_at is not None
    assert [j.state for j in JobRun.query.order_by(JobRun.id)] == ["failed", "done"]


def test_a_body_that_is_not_utf8_is_refused_and_nothing_stored(client, db, hook):
    from recovery.models import WebhookPost

    body = json.dumps([{"event": "open", "email": "k\u00f6hler@example.de"}]).encode("utf-16")
    response = client.post(URL, data=body, content_type="application/json", headers=auth())
    assert response.status_code == 400 and b"UTF-8" in response.data
    assert WebhookPost.query.count() == 0 and JobRun.query.count() == 0


def test_posts_share_the_queued_job_but_never_a_running_one(client, db, hook, sent, run_jobs):
    from recovery.jobs import rows
    from recovery.models import WebhookPost

    for second in range(3):  # Mailjet posts every second
        send(client, [event(sent, "open", time=1767225600 + second)])
    [job] = JobRun.query.all()
    assert [p.job_id for p in WebhookPost.query] == [job.id] * 3
    assert rows.claim("worker-1", ["mailjet events"]).id == job.id  # now running
    send(client, [event(sent, "click", url="https://shop.example/x")])
    assert JobRun.query.count() == 2  # a post during the run gets a job of its own
    rows.put_back(job.id, "worker-1", 0, "queued")  # let the test's worker run both
    db.session.expire_all()
    assert run_jobs() == 2
    assert WebhookEvent.query.filter(WebhookEvent.processed_at.is_(None)).count() == 0
    assert WebhookEvent.query.count() == 4
    assert all(p.done_at is not None for p in WebhookPost.query)
    results = [j.result for j in JobRun.query.order_by(JobRun.id)]
    assert sum(r["posts"] for r in results) == 4 and sum(r["processed"] for r in results) == 4


def test_two_workers_on_one_post_apply_each_event_once(app, client, db, hook, sent, monkeypatch):
    """Two jobs running at once over the same post (PostgreSQL: row locks)."""
    import threading

    from recovery.models import WebhookPost

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no concurrent writers: run one worker per SQLite database")
    monkeypatch.setattr(webhook, "CHUNK", 7)
    real_apply = webhook._apply
    applied: list[int] = []
    lock = threading.Lock()

    def counting_apply(row, raw):
        real_apply(row, raw)
        with lock:
            applied.append(row.id)

    monkeypatch.setattr(webhook, "_apply", counting_apply)
    batch = [event(sent, "open", time=1767225600 + i) for i in range(300)]
    send(client, batch)
    post_id = WebhookPost.query.one().id
    webhook.split(post_id)
    errors = [
        o
        for o in at_once(app, lambda _i: webhook.process_post(post_id), 3)
        if isinstance(o, BaseException)
    ]
    assert errors == []
    assert len(applied) == 300 and len(set(applied)) == 300
    assert WebhookEvent.query.filter(WebhookEvent.processed_at.is_(None)).count() == 0
    assert CaseEvent.query.filter_by(kind="opened_email").count() == 1

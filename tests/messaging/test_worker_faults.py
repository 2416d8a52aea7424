"""Mailjet failing on purpose: lost answers, outages, 429, refusals, a worker killed mid-batch."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from recovery.messaging.mailjet import MailjetTransport
from recovery.messaging.pace import TokenBucket
from recovery.messaging.sending import BatchResult, Sender, Transports
from tests.conftest import csrf_from
from tests.fakes.mailjet import API_KEY, API_SECRET
from tests.messaging import messaging_fixtures
from tests.messaging.messaging_fixtures import (
    FAST,
    Clock,
    bulk_messages,
    company,
    messages,
    run_worker,
)

mailjet, fake, online = messaging_fixtures.FIXTURES  # used as pytest fixtures
VENDOR = Path(__file__).parents[1] / "data" / "vendor" / "mailjet"


def delivered_once(fake, ids) -> bool:
    counts = Counter(e.custom_id for e in fake.emails)
    return all(counts[str(i)] == 1 for i in ids) and sum(counts.values()) == len(ids)


def test_lost_answer_is_looked_up_not_sent_twice(app, db, build, online):
    ids = bulk_messages(company(build), 3)
    # Mailjet takes the batch, but the answer comes after the client gave up.
    online.faults.add("timeout", seconds=1.0, path="/v3.1/send")
    stats = run_worker(app)
    assert delivered_once(online, ids)
    assert online.call_count("/v3.1/send") == 1
    assert online.call_count("/v3/REST/message") == 3  # one look-up per message
    assert stats.unknown == 3 and stats.resolved == 3
    assert {m.state for m in messages(ids).values()} == {"sent"}
    assert all(m.provider_id for m in messages(ids).values())


def test_unknown_waits_out_the_grace_period_before_sending_again(app, db, build, online):
    clock = Clock()
    [message_id] = bulk_messages(company(build), 1)
    online.faults.add("status", status=500, path="/v3.1/send")  # nothing taken, 5xx
    run_worker(app, clock, lookup_delay_seconds=60, lookup_grace_seconds=300)
    message = messages([message_id])[message_id]
    assert message.state == "unknown" and message.error_code == "http-500"
    assert online.emails == []
    clock.advance(61)  # looked up: not found, still inside the grace period
    run_worker(app, clock, lookup_delay_seconds=60, lookup_grace_seconds=300)
    assert online.call_count("/v3/REST/message") == 1 and online.emails == []
    assert messages([message_id])[message_id].state == "unknown"
    clock.advance(300)  # grace over: not at Mailjet, so it is sent again
    run_worker(app, clock, lookup_delay_seconds=60, lookup_grace_seconds=300)
    assert delivered_once(online, [message_id])
    assert messages([message_id])[message_id].state == "sent"


def test_mailjet_down_then_up_sends_everything_once(app, db, build, online):
    ids = bulk_messages(company(build), 120)
    online.faults.add("status", times=3, status=503, path="/v3.1/send")
    online.faults.add("reset", times=2, path="/v3.1/send")
    stats = run_worker(app)
    assert delivered_once(online, ids)
    assert {m.state for m in messages(ids).values()} == {"sent"}
    assert stats.sent + stats.resolved == 120


def test_429_retry_after_is_honoured(app, db, build, online):
    clock = Clock()
    [message_id] = bulk_messages(company(build), 1)
    online.faults.add("status", status=429, retry_after="120", path="/v3.1/send")
    stats = run_worker(app, clock, retry_base_seconds=1)
    message = messages([message_id])[message_id]
    assert stats.retry == 1 and message.state == "queued"
    assert message.send_after >= clock.value + timedelta(seconds=119)
    assert message.error_code == "http-429"
    clock.advance(60)
    run_worker(app, clock, retry_base_seconds=1)
    assert online.emails == [] and online.call_count("/v3.1/send") == 1
    clock.advance(61)
    run_worker(app, clock, retry_base_seconds=1)
    assert delivered_once(online, [message_id])


def test_a_429_holds_the_rest_of_the_claim_instead_of_calling_into_the_limit(
    app, db, build, online
):
    clock = Clock()
    ids = bulk_messages(company(build), 120)  # one claim, three calls of 50
    online.faults.add("status", status=429, retry_after="120", path="/v3.1/send")
    stats = run_worker(app, clock, retry_base_seconds=1)
    assert online.call_count("/v3.1/send") == 1 and stats.batches == 1
    stored = messages(ids)
    limited, held = ids[:50], ids[50:]
    assert {(stored[i].state, stored[i].attempts) for i in limited} == {("queued", 1)}
    assert {(stored[i].state, stored[i].attempts) for i in held} == {("queued", 0)}
    assert all(stored[i].send_after >= clock.value + timedelta(seconds=119) for i in limited)
    run_worker(app, clock, retry_base_seconds=1)  # the held ones are due at once
    assert len(online.emails) == 70
    clock.advance(121)
    run_worker(app, clock, retry_base_seconds=1)
    assert delivered_once(online, ids)


def test_backoff_doubles_and_gives_up_with_the_reason(app, db, build, online):
    clock = Clock()
    [message_id] = bulk_messages(company(build), 1)
    online.faults.add("status", times=10, status=429, path="/v3.1/send")
    delays = []
    for _ in range(3):
        before = clock.value
        run_worker(app, clock, retry_base_seconds=10, retry_max_seconds=1000, max_attempts=3)
        message = messages([message_id])[message_id]
        if message.state == "queued":
            delays.append((message.send_after - before).total_seconds())
            clock.value = message.send_after
    assert delays == [10, 20]
    assert message.state == "failed" and message.attempts == 3
    assert "nach 3 Versuchen aufgegeben" in message.last_error
    assert online.emails == []


def test_rejected_message_fails_with_mailjets_code(app, db, build, online):
    shop = company(build)
    good, bad = bulk_messages(shop, 2)
    db.session.get(type(messages([bad])[bad]), bad).template_id = 999  # unknown template
    db.session.commit()
    run_worker(app)
    result = messages([good, bad])
    assert result[good].state == "sent"
    assert result[bad].state == "failed" and result[bad].error_code == "send-0010"
    assert "doesn't exist" in result[bad].last_error
    online.senders = {"someone@else.example"}
    [unauthorised] = bulk_messages(shop, 1)
    run_worker(app)
    assert messages([unauthorised])[unauthorised].error_code == "send-0008"


class DiesAfterSending(MailjetTransport):
    """A transport whose process "dies" right after Mailjet took the batch."""

    def send_emails(self, emails, **kwargs):
        super().send_emails(emails, **kwargs)
        raise SystemExit("killed")


def test_lease_expired_mid_batch_is_resolved_by_custom_id(app, db, build, online):
    clock = Clock()
    ids = bulk_messages(company(build), 80)
    transport = DiesAfterSending(API_KEY, API_SECRET, base_url=online.url, timeout=0.5)
    dying = Sender("dead:1:x", FAST, Transports(transport), TokenBucket(1000), now=clock)
    claimed = dying.claim(50)
    assert len(claimed) == 50
    try:
        dying.process(claimed, BatchResult())
    except SystemExit:
        db.session.rollback()
    transport.close()
    assert len(online.emails) == 50
    assert {messages(claimed)[i].state for i in claimed} == {"sending"}
    run_worker(app, clock)  # the lease still runs: only the other 30 go
    assert len(online.emails) == 80
    clock.advance(FAST.lease_seconds + 1)
    stats = run_worker(app, clock)
    assert stats.resolved == 50 and stats.sent == 0
    assert delivered_once(online, ids)
    assert {m.state for m in messages(ids).values()} == {"sent"}


# -- the key or the sender refused: stop, fail with Mailjet's code, tell the admin ---------


def test_suspended_key_stops_the_batch_and_warns_the_admin_until_a_send_succeeds(
    app, db, build, online, client, login_as
):
    ids = bulk_messages(company(build), 60)  # two batches: 50 + 10
    body = (VENDOR / "send_v31_api_key_suspended.json").read_text(encoding="utf-8")
    online.faults.add("answer", status=401, body=body, path="/v3.1/send")
    stats = run_worker(app, retry_max_seconds=600)
    assert online.call_count("/v3.1/send") == 1  # the worker paused: no second call
    result = messages(ids)
    refused, held = ids[:50], ids[50:]
    assert {(result[i].state, result[i].error_code) for i in refused} == {("failed", "mj-0001")}
    assert {(result[i].state, result[i].attempts) for i in held} == {("queued", 0)}
    assert stats.failed == 50
    # Every page tells the admin, in every web process (stored in the database).
    login_as("admin")
    page = client.get("/").get_data(as_text=True)
    assert "mj-0001" in page and "API key is suspended." in page
    # The key works again: the held messages go out and the warning is gone.
    run_worker(app, retry_max_seconds=600)
    assert {messages(held)[i].state for i in held} == {"sent"}
    assert "mj-0001" not in client.get("/").get_data(as_text=True)


def test_unauthorised_sender_stops_the_batch_and_the_admin_dismisses_the_warning(
    app, db, build, online, client, login_as
):
    body = (VENDOR / "send_v31_sender_not_authorised.json").read_text(encoding="utf-8")
    online.faults.add("answer", status=403, body=body, path="/v3.1/send")
    [message_id] = bulk_messages(company(build), 1)
    stats = run_worker(app, retry_max_seconds=600)
    message = messages([message_id])[message_id]
    assert (message.state, message.error_code, message.attempts) == ("failed", "send-0008", 1)
    assert stats.retry == 0 and online.emails == []
    login_as("admin")
    page = client.get("/").get_data(as_text=True)
    assert "send-0008" in page and "not an authorized sender" in page
    form = csrf_from(page)
    response = client.post("/admin/sending-warning/dismiss", data={"csrf_token": form})
    assert response.status_code == 302
    assert "send-0008" not in client.get("/").get_data(as_text=True)


def test_sales_users_do_not_see_the_admins_warning(app, db, build, online, client, login_as):
    online.senders = {"someone@else.example"}
    bulk_messages(company(build), 1)
    run_worker(app, retry_max_seconds=600)
    login_as("sales")
    assert "send-0008" not in client.get("/").get_data(as_text=True)

"""An outcome is written only while the message is still this worker's claim, and the
sending loop's per-call statements find their messages by key, however far the
planner's statistics of the state lag behind (PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text, update

from recovery.messaging.cap import MarketingCap
from recovery.messaging.mailjet import MailjetTransport
from recovery.messaging.pace import TokenBucket
from recovery.messaging.sending import BatchResult, Sender, Transports
from recovery.messaging.transport import ACCEPTED, SendResult
from recovery.models import Message, utcnow
from tests.fakes.mailjet import API_KEY, API_SECRET
from tests.messaging import messaging_fixtures
from tests.messaging.messaging_fixtures import FAST, Clock, bulk_messages, company, messages

mailjet, fake, online = messaging_fixtures.FIXTURES  # used as pytest fixtures


class CancelsDuringTheCall(MailjetTransport):
    """Mailjet takes the batch; meanwhile ``victim`` leaves ``sending`` (cancelled by
    someone else) while it still names this worker."""

    def __init__(self, *args, db, victim: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.db, self.victim = db, victim

    def send_emails(self, emails, **kwargs):
        outcomes = super().send_emails(emails, **kwargs)
        self.db.session.execute(
            update(Message).where(Message.id == self.victim).values(state="cancelled")
        )
        self.db.session.commit()
        return outcomes


def test_a_message_that_left_sending_during_the_call_keeps_its_state(app, db, build, online):
    ids = bulk_messages(company(build), 3)
    transport = CancelsDuringTheCall(
        API_KEY, API_SECRET, base_url=online.url, timeout=0.5, db=db, victim=ids[0]
    )
    sender = Sender("w:1:guard", FAST, Transports(transport), TokenBucket(1000))
    with app.test_request_context():
        sender.process(sender.claim(), BatchResult())
    transport.close()
    stored = messages(ids)
    assert [stored[i].state for i in ids] == ["cancelled", "sent", "sent"]
    assert stored[ids[0]].sent_at is None and stored[ids[0]].attempts == 0


@pytest.mark.usefixtures("online")
def test_the_per_call_statements_do_not_read_the_state_index(app, db, build):
    """The statistics say every message is queued (analysed before the claim), as
    after a serial message's queueing: the statements that name a few hundred ids must
    look them up by key, not read every entry of "sending" or "sent" in the state index."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner")
    ids = bulk_messages(company(build), 3000)
    db.session.commit()
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE message"))
    sender = Sender("w:1:plans", FAST, None, TokenBucket(1000))
    claimed = sender.claim(500)
    assert len(claimed) == 500

    def plan(sql: str, params) -> str:
        rows = db.session.connection().exec_driver_sql("EXPLAIN " + sql, params).scalars()
        return "\n".join(rows)

    # The trap: the state as a plain condition is read along the index.
    ours = {"ids": claimed, "me": sender.worker_id}
    plain = "SELECT id FROM message WHERE id = ANY(%(ids)s) AND locked_by = %(me)s AND "
    assert "ix_message_state_send_after" in plan(plain + "state = 'sending'", ours)

    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        guarded = "message.locked_by" in statement or "message.sent_at" in statement
        if "message.state" in statement and guarded:
            seen.append((statement, parameters))

    accepted = [SendResult(str(i), ACCEPTED, provider_id=f"p{i}") for i in claimed[:50]]
    customers = [m.customer_id for m in messages(claimed[:50]).values()]
    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        with app.test_request_context():
            sender._claimed_rows(claimed)  # the claim's re-read before the checks
            MarketingCap.load().sent_since(customers, claimed, utcnow())  # the cap's look-up
            sender._record(accepted, BatchResult(), "email", set())  # one call's outcome
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert len(seen) == 3
    for statement, params in seen:
        assert "ix_message_state_send_after" not in plan(statement, params)
    stored = messages(claimed[:50])
    assert {m.state for m in stored.values()} == {"sent"}
    assert {i: m.provider_id for i, m in stored.items()} == {i: f"p{i}" for i in claimed[:50]}
    assert len(ids) == 3000


def test_run_out_leases_are_looked_for_once_in_a_tenth_of_the_lease(app, db, build):
    """The look for run-out leases reads every ``sending`` entry of the state index: the
    first claim of a worker looks, later claims only once a tenth of the lease passed."""
    ids = bulk_messages(company(build), 2)
    db.session.commit()
    clock = Clock()
    gone = Sender("w:1:killed", FAST, None, TokenBucket(1000), now=clock)
    assert gone.claim() == ids  # then the worker is killed mid-batch
    sender = Sender("w:2:next", FAST, None, TokenBucket(1000), now=clock)
    clock.advance(FAST.lease_seconds - 1)
    assert sender.claim() == []  # looked: the lease still runs
    clock.advance(2)  # ran out a second ago, two seconds after the last look
    assert sender.claim() == []
    clock.advance(FAST.lease_seconds / 10 - 1)  # a tenth of the lease since the look
    assert sender.claim() == ids
    stored = messages(ids)
    assert {m.locked_by for m in stored.values()} == {"w:2:next"}
    assert all(m.unknown_since is not None for m in stored.values())  # looked up first
    assert Sender("w:3:new", FAST, None, TokenBucket(1000), now=clock)._read_leases(clock())

"""Mailjet's event webhook (PRODUCT.md M6): store the post, answer, process in the worker.

Mailjet posts one event (API version 1) or an array of the last second's events
(version 2) and retries a post that did not get a 200 within 30 s. The request checks
the body is events, stores it whole as one ``WebhookPost`` row, enqueues a ``mailjet
events`` job unless one is queued already, and answers (:func:`receive`; 50,000 events
in about a second, see bench/messaging/bench_webhook.py). The job
(:func:`process_posts`, registered in ``messaging/jobs.py``) takes the unfinished
posts oldest first and splits each into one ``WebhookEvent`` row per event,
under a dedupe key (a hash of event type, message id, time, recipient and, for clicks,
the URL), so a replayed post inserts nothing new; the split and the emptied body are
one transaction. Then it processes the post's events in chunks. Each event is claimed
by a conditional update of its ``processed_at`` in the transaction that writes its
effects, so a worker that dies mid-way loses nothing (the next one, when the job's
lease has run out, carries on with the rest) and no event is processed twice, not
even by two workers at once. An event whose processing fails keeps its raw row and
error, and the recurring task retries it; a post whose job ended without finishing it
gets a new job from that task too. Processing is idempotent: do-not-contact records
and history entries are written once, times only move forward.

Fields used (Mailjet Event API): ``event``, ``time`` (unix seconds), ``email``,
``MessageID`` (``mj_message_id`` in old payloads), ``Message_GUID``, ``CustomID``
(our message id), ``url`` (click), ``hard_bounce`` and ``blocked`` (bounce: "true if
this bounce leads to the recipient being blocked"), ``error_related_to`` and ``error``
(bounce, blocked; Mailjet's table "Possible values for errors").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..jobs import ACTIVE, enqueue
from ..models import CaseEvent, Customer, JobRun, Message, WebhookEvent, WebhookPost, utcnow
from . import consent
from .options import MessagingOptions

log = logging.getLogger(__name__)

EVENTS = ("sent", "open", "click", "bounce", "blocked", "spam", "unsub")
# Mailjet's error table: these ``blocked`` reasons are for good, with the
# do-not-contact reason each one means.
PERMANENT_BLOCKS = {
    ("recipient", "user unknown"): "hard_bounce",
    ("recipient", "mailbox inactive"): "hard_bounce",
    ("recipient", "spam reporter"): "spam",
    ("recipient", "blacklisted"): "provider_block",
    ("domain", "invalid domain"): "hard_bounce",
    ("domain", "no mail host"): "hard_bounce",
    ("mailjet", "preblocked"): "hard_bounce",
}
MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=1)  # a failed event is tried again after this
JOB_KIND = "mailjet events"
STALLED_AFTER = timedelta(minutes=10)  # a post unfinished with no active job gets a new one
CHUNK = 500  # events per transaction in the worker


def batched(items: Iterable[Any], size: int):
    """Tuples of ``size`` items (itertools.batched from Python 3.12)."""
    iterator = iter(items)
    while chunk := tuple(islice(iterator, size)):
        yield chunk


class BadPayload(ValueError):
    """The body is not a Mailjet event or an array of them."""


def authorised(username: str | None, password: str | None, options: MessagingOptions) -> bool:
    """HTTP basic auth against the configured pair, in constant time; no pair, no entry."""
    if not (options.webhook_user and options.webhook_password):
        return False
    user_ok = hmac.compare_digest((username or "").encode(), options.webhook_user.encode())
    password_ok = hmac.compare_digest((password or "").encode(), options.webhook_password.encode())
    return user_ok and password_ok


def parse(body: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPayload("the body is not JSON") from exc
    events = data if isinstance(data, list) else [data]
    if not all(isinstance(e, dict) and isinstance(e.get("event"), str) for e in events):
        raise BadPayload("every event needs an 'event' field")
    return events


def receive(body: bytes, now: datetime | None = None) -> WebhookPost:
    """Check and store one POST whole, see that a job will process it; commits.

    Raises :class:`BadPayload` (storing nothing) unless the body is UTF-8 JSON events.
    """
    events = parse(body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadPayload("the body is not UTF-8") from exc
    post = WebhookPost(received_at=now or utcnow(), body=text)
    post.events = len(events)
    db.session.add(post)
    db.session.flush()
    post.job_id = _queued_job()
    db.session.commit()
    return post


def _queued_job() -> int:
    """The id of a queued ``mailjet events`` job that will see this post, or a new one.

    Mailjet posts every second: one job per post would fill the job list. A job still
    queued processes every unfinished post when it runs, so the post joins it. The
    conditional update holds that job row until this transaction commits, so a worker
    cannot claim it in between (PostgreSQL skips the locked row, SQLite waits): the job
    starts only when the post is visible. A job already running may finish before
    seeing the post, so it never counts.
    """
    queued = db.session.scalar(
        select(JobRun.id)
        .where(JobRun.kind == JOB_KIND, JobRun.state == "queued", JobRun.run_after.is_(None))
        .order_by(JobRun.id)
        .limit(1)
    )
    if queued is not None:
        held = db.session.execute(
            update(JobRun)
            .where(JobRun.id == queued, JobRun.state == "queued")
            .values(message="queued")
            .execution_options(synchronize_session=False)
        ).rowcount
        if held == 1:
            return queued
    return enqueue(JOB_KIND, {}).id


def dedupe_key(event: dict[str, Any]) -> str:
    parts = [
        event.get("event"),
        _message_ref(event),
        event.get("time"),
        str(event.get("email") or "").lower(),
        event.get("url") if event.get("event") == "click" else "",
    ]
    return hashlib.sha256("|".join(str(p or "") for p in parts).encode()).hexdigest()


def store(
    events: Iterable[dict[str, Any]], now: datetime | None = None, post_id: int | None = None
) -> list[int]:
    """Insert the events not seen before; the ids of the stored rows still to process.

    Commits unless ``post_id`` is given (the split of a post, which commits itself).
    """
    now = now or utcnow()
    rows = {}
    for e in events:
        key = dedupe_key(e)
        rows[key] = {
            "dedupe_key": key,
            "post_id": post_id,
            "event": str(e.get("event")).replace("\x00", "")[:20],
            "raw": json.dumps(e, ensure_ascii=False, sort_keys=True),
            "received_at": now,
            "attempts": 0,
        }
    if not rows:
        return []
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(WebhookEvent)
    for chunk in batched(rows.values(), 5000):
        db.session.execute(
            insert.on_conflict_do_nothing(index_elements=["dedupe_key"]), list(chunk)
        )
    if post_id is not None:
        return []
    ids = db.session.scalars(
        select(WebhookEvent.id)
        .where(WebhookEvent.dedupe_key.in_(list(rows)), WebhookEvent.processed_at.is_(None))
        .order_by(WebhookEvent.id)
    ).all()
    db.session.commit()
    return list(ids)


def split(post_id: int, now: datetime | None = None) -> bool:
    """Turn a stored post into its event rows and empty its body, in one transaction.

    False when it was split before (a second attempt of the job). Commits.
    """
    query = select(WebhookPost).where(WebhookPost.id == post_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # a second worker waits, then finds it split
    post = db.session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if post is None or post.split_at is not None:
        db.session.commit()
        return False
    now = now or utcnow()
    store(parse((post.body or "[]").encode("utf-8")), post.received_at, post_id=post.id)
    post.split_at, post.body = now, None
    db.session.commit()
    return True


Progress = Callable[..., bool]


def process_posts(progress: Progress | None = None) -> dict[str, Any]:
    """The ``mailjet events`` job: every unfinished post, oldest first (:func:`process_post`)."""
    totals = {"posts": 0, "events": 0, "new": 0, "processed": 0, "failed": 0, "unprocessed": 0}
    last = 0
    while True:
        post_id = db.session.scalar(
            select(WebhookPost.id)
            .where(WebhookPost.done_at.is_(None), WebhookPost.id > last)
            .order_by(WebhookPost.id)
            .limit(1)
        )
        db.session.commit()
        if post_id is None:
            return totals
        result = process_post(post_id, progress)
        if result.get("stopped"):
            return {**totals, "stopped": True}
        totals["posts"] += 1
        for key in ("events", "new", "processed", "failed", "unprocessed"):
            totals[key] += result.get(key, 0)
        last = post_id


def process_post(post_id: int, progress: Progress | None = None) -> dict[str, Any]:
    """One post: split it, then process its unprocessed events.

    ``progress(message, done=, total=)`` reports in the chunk's transaction and renews
    the job's lease; False means the lease was lost, so this worker stops.
    """
    post = db.session.get(WebhookPost, post_id)
    if post is None:
        return {"events": 0}
    total = post.events
    if progress is not None and not progress("storing events", done=0, total=total):
        db.session.rollback()
        return {"stopped": True}
    split(post_id)
    stored = db.session.scalar(
        select(func.count(WebhookEvent.id)).where(WebhookEvent.post_id == post_id)
    )
    last_id, processed, failed = 0, 0, 0
    while True:
        ids = db.session.scalars(
            select(WebhookEvent.id)
            .where(
                WebhookEvent.post_id == post_id,
                WebhookEvent.id > last_id,
                WebhookEvent.processed_at.is_(None),
                WebhookEvent.attempts < MAX_ATTEMPTS,
            )
            .order_by(WebhookEvent.id)
            .limit(CHUNK)
        ).all()
        if not ids:
            break
        last_id = ids[-1]
        done, errors = _process_chunk(ids, commit=False)
        processed, failed = processed + done, failed + errors
        if progress is not None and not progress(
            "processing events", done=processed + failed, total=stored
        ):
            db.session.rollback()
            return {"stopped": True}
        db.session.commit()
    left = db.session.scalar(
        select(func.count(WebhookEvent.id)).where(
            WebhookEvent.post_id == post_id, WebhookEvent.processed_at.is_(None)
        )
    )
    db.session.execute(
        update(WebhookPost).where(WebhookPost.id == post_id).values(done_at=utcnow())
    )
    db.session.commit()
    return {
        "events": total,
        "new": stored,
        "processed": processed,
        "failed": failed,
        "unprocessed": left,
    }


def process(ids: Iterable[int], now: datetime | None = None) -> int:
    """Process stored events, each once; a failure stays on its row. Commits."""
    done = 0
    for chunk in batched(ids, CHUNK):
        done += _process_chunk(chunk, now)[0]
    return done


def _process_chunk(
    ids: Iterable[int], now: datetime | None = None, commit: bool = True
) -> tuple[int, int]:
    """Process a chunk of events in one transaction: (processed, failed).

    The chunk's events still unprocessed are claimed by one conditional update, read by
    one query, their messages by another, then applied in order. If one of them fails,
    the chunk is rolled back and done again one event per transaction, so the failure
    stays on its own row. Without ``commit`` the chunk's transaction is left open for
    the caller (the job reports progress in it, then commits).
    """
    ids = list(ids)
    now = now or utcnow()
    try:
        claimed = db.session.scalars(
            update(WebhookEvent)
            .where(WebhookEvent.id.in_(ids), WebhookEvent.processed_at.is_(None))
            .values(processed_at=now, error=None)
            .returning(WebhookEvent.id)
            .execution_options(synchronize_session=False)
        ).all()
        rows = db.session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.id.in_(claimed))
            .order_by(WebhookEvent.id)
            .execution_options(populate_existing=True)
        ).all()
        events = [(row, json.loads(row.raw)) for row in rows]
        messages = _load_messages(event for _row, event in events)  # noqa: F841 (kept)
        for row, event in events:
            _apply(row, event)
        _write_history()
        db.session.flush()
    except Exception as exc:
        _forget_history()
        db.session.rollback()
        log.info("webhook events %s…%s: one by one after %s", ids[0], ids[-1], exc)
        return _one_by_one(ids, now)
    if commit:
        db.session.commit()
    return len(rows), 0


def _one_by_one(ids: list[int], now: datetime) -> tuple[int, int]:
    done = failed = 0
    for event_id in ids:
        try:
            if _apply_once(event_id, now):
                done += 1
            db.session.commit()
        except Exception as exc:
            _forget_history()
            db.session.rollback()
            failed += 1
            log.warning("webhook event %s failed: %s", event_id, exc)
            db.session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id == event_id)
                .values(
                    attempts=WebhookEvent.attempts + 1,
                    error=f"{type(exc).__name__}: {exc}"[:2000],
                )
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
    return done, failed


def _load_messages(events: Iterable[dict[str, Any]]) -> list[Message]:
    """The chunk's messages by CustomID in one query, so ``_find_message`` finds them in
    the session; the caller holds the list (the session only keeps weak references)."""
    ids = {int(c) for e in events if (c := str(e.get("CustomID") or "").strip()).isdigit()}
    return list(db.session.scalars(select(Message).where(Message.id.in_(ids)))) if ids else []


def _apply_once(event_id: int, now: datetime) -> bool:
    """Claim the event (processed_at, only if still empty) and apply it; False: done before.

    The claim and the effects commit together; a second worker's claim waits for the
    first one's transaction (PostgreSQL's row lock, SQLite's write lock) and then finds
    the event processed.
    """
    claimed = db.session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event_id, WebhookEvent.processed_at.is_(None))
        .values(processed_at=now, error=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return False
    row = db.session.get(WebhookEvent, event_id, populate_existing=True)
    _forget_history()
    _apply(row, json.loads(row.raw))
    _write_history()
    db.session.flush()
    return True


def process_pending(now: datetime | None = None, limit: int = 500) -> int:
    """The worker's retry: events whose processing failed, after a minute, a few times each."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(WebhookEvent.id)
        .where(
            WebhookEvent.processed_at.is_(None),
            WebhookEvent.attempts > 0,
            WebhookEvent.attempts < MAX_ATTEMPTS,
            WebhookEvent.received_at <= now - RETRY_AFTER,
        )
        .order_by(WebhookEvent.id)
        .limit(limit)
    ).all()
    db.session.commit()
    return process(ids, now)


def resume_stalled(now: datetime | None = None) -> int:
    """Posts left unfinished whose job is no longer queued or running get a new job.

    (A job that raised, e.g. when the database went away for a moment, fails for good;
    its post must not be left half processed.) Commits; returns how many.
    """
    now = now or utcnow()
    stalled = db.session.scalars(
        select(WebhookPost)
        .outerjoin(JobRun, JobRun.id == WebhookPost.job_id)
        .where(
            WebhookPost.done_at.is_(None),
            WebhookPost.received_at <= now - STALLED_AFTER,
            or_(JobRun.id.is_(None), JobRun.state.not_in(ACTIVE)),
        )
        .order_by(WebhookPost.id)
        .limit(100)
    ).all()
    job_id = enqueue(JOB_KIND, {}).id if stalled else None
    for post in stalled:
        post.job_id = job_id
        log.warning("webhook post %s was left unfinished: job %s takes it up", post.id, post.job_id)
    db.session.commit()
    return len(stalled)


# -- what an event does -------------------------------------------------------------------


def _apply(row: WebhookEvent, event: dict[str, Any]) -> None:
    kind = event.get("event")
    at = _time(event) or utcnow()
    message = _find_message(event)
    row.message_id = message.id if message else None
    if message is not None and (message.last_event_at is None or at >= message.last_event_at):
        message.last_event, message.last_event_at = kind, at
    if kind == "sent":
        _sent(message, event, at)
    elif kind == "open" and message is not None:
        first = message.opened_at is None
        message.opened_at = min(filter(None, (message.opened_at, at)))
        if first:
            _history(message, "opened_email", f"open:{message.id}", at)
    elif kind == "click" and message is not None:
        url = str(event.get("url") or "")[:1000]
        message.clicked_at = min(filter(None, (message.clicked_at, at)))
        _history(message, "clicked", f"click:{message.id}:{url}", at, url=url)
    elif kind == "bounce":
        reason = _error_text(event)
        if message is not None:
            message.last_error = f"bounce: {reason}"
        if event.get("hard_bounce") is True or event.get("blocked") is True:
            _block(message, event, "hard_bounce", f"Mailjet bounce: {reason}", at)
        _history(message, "email_bounced", f"bounce:{row.dedupe_key}", at, error=reason)
    elif kind == "blocked":
        reason = _error_text(event)
        if message is not None:
            message.last_error = f"blocked: {reason}"
        permanent = PERMANENT_BLOCKS.get(
            (str(event.get("error_related_to")), str(event.get("error")))
        )
        if permanent:
            _block(message, event, permanent, f"Mailjet blocked: {reason}", at)
        _history(message, "email_blocked", f"blocked:{row.dedupe_key}", at, error=reason)
    elif kind == "spam":
        _block(message, event, "spam", "Mailjet spam complaint", at)
        _history(message, "spam_complaint", f"spam:{row.dedupe_key}", at)
    elif kind == "unsub":
        _block(message, event, "unsubscribed", "Mailjet unsubscribe", at)
        _history(message, "unsubscribed", f"unsub:{row.dedupe_key}", at)


def _sent(message: Message | None, event: dict[str, Any], at: datetime) -> None:
    """Mailjet confirms a message we had lost the answer for: it is sent, not to resend."""
    if message is None:
        return
    ref = event.get("MessageID") or event.get("mj_message_id")
    if message.provider_id is None and ref:
        message.provider_id = str(ref)
    if message.state in ("unknown", "queued", "failed") and message.channel == "email":
        message.state = "sent"
        message.sent_at = message.sent_at or at
        message.unknown_since = None
        message.last_error = None
        message.error_code = None
        message.locked_by = message.locked_until = None


def _find_message(event: dict[str, Any]) -> Message | None:
    custom = str(event.get("CustomID") or "").strip()
    if custom.isdigit():
        message = db.session.get(Message, int(custom))
        if message is not None:
            return message
    ref = event.get("MessageID") or event.get("mj_message_id")
    if ref:
        return db.session.scalar(select(Message).where(Message.provider_id == str(ref)).limit(1))
    return None


def _block(
    message: Message | None, event: dict[str, Any], reason: str, note: str, at: datetime
) -> None:
    """A do-not-contact record for email, for the message's customer or the address's."""
    if message is not None and message.customer_id is not None:
        customer_ids = [message.customer_id]
    else:
        email = str(event.get("email") or "").strip().lower()
        customer_ids = (
            db.session.scalars(select(Customer.id).where(func.lower(Customer.email) == email)).all()
            if email
            else []
        )
    for customer_id in customer_ids:
        consent.block(customer_id, "email", reason, note, at)


HISTORY = "webhook_history"  # the session's pending history rows (session.info)


def _history(message: Message | None, kind: str, token: str, at: datetime, **data: str) -> None:
    """One entry in the case history; the token makes a second one impossible.

    Collected in the session and written by :func:`_write_history` with the rest of the
    transaction, one insert for a chunk of events.
    """
    if message is None or message.case_id is None:
        return
    form_token = hashlib.sha256(f"mailjet:{token}".encode()).hexdigest()
    db.session.info.setdefault(HISTORY, {}).setdefault(
        form_token,
        {
            "case_id": message.case_id,
            "kind": kind,
            "data": {"message_id": message.id, **data},
            "form_token": form_token,
            "created_at": at,
        },
    )


def _write_history() -> None:
    """Insert the collected history rows; a token written before inserts nothing."""
    rows = list(db.session.info.pop(HISTORY, {}).values())
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CaseEvent)
    db.session.execute(insert.on_conflict_do_nothing(index_elements=["form_token"]), rows)


def _forget_history() -> None:
    db.session.info.pop(HISTORY, None)


def _message_ref(event: dict[str, Any]) -> str:
    return str(
        event.get("MessageID")
        or event.get("mj_message_id")
        or event.get("Message_GUID")
        or event.get("CustomID")
        or ""
    )


def _time(event: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(event["time"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None


def _error_text(event: dict[str, Any]) -> str:
    parts = [str(event.get(k)) for k in ("error_related_to", "error") if event.get(k)]
    return " / ".join(parts) or "no details"

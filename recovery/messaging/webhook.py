"""Mailjet's event webhook (PRODUCT.md M6): store every event first, then process it.

Mailjet posts one event (API version 1) or an array of the last second's events
(version 2) and retries a post that did not get a 200. Each event is stored as its
own ``WebhookEvent`` row under a dedupe key (a hash of event type, message id, time,
recipient and, for clicks, the URL), so a replayed post inserts nothing new. Stored
events are processed right away; an event whose processing fails keeps its raw row
and error, and the worker tries it again later. Processing is idempotent: do-not-
contact records and history entries are written once, times only move forward.

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
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import CaseEvent, Customer, Message, WebhookEvent, utcnow
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
RETRY_AFTER = timedelta(minutes=1)  # leave fresh rows to the request that stored them


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


def dedupe_key(event: dict[str, Any]) -> str:
    parts = [
        event.get("event"),
        _message_ref(event),
        event.get("time"),
        str(event.get("email") or "").lower(),
        event.get("url") if event.get("event") == "click" else "",
    ]
    return hashlib.sha256("|".join(str(p or "") for p in parts).encode()).hexdigest()


def store(events: Iterable[dict[str, Any]], now: datetime | None = None) -> list[int]:
    """Insert the events not seen before; the ids of the stored rows still to process."""
    now = now or utcnow()
    rows = {
        dedupe_key(e): {
            "dedupe_key": dedupe_key(e),
            "event": str(e.get("event"))[:20],
            "raw": json.dumps(e, ensure_ascii=False, sort_keys=True),
            "received_at": now,
            "attempts": 0,
        }
        for e in events
    }
    if not rows:
        return []
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(WebhookEvent)
    db.session.execute(
        insert.on_conflict_do_nothing(index_elements=["dedupe_key"]), list(rows.values())
    )
    ids = db.session.scalars(
        select(WebhookEvent.id)
        .where(WebhookEvent.dedupe_key.in_(list(rows)), WebhookEvent.processed_at.is_(None))
        .order_by(WebhookEvent.id)
    ).all()
    db.session.commit()
    return list(ids)


def process(ids: Iterable[int], now: datetime | None = None) -> int:
    """Process stored events one transaction each; a failure stays on its row."""
    done = 0
    for event_id in ids:
        row = db.session.get(WebhookEvent, event_id)
        if row is None or row.processed_at is not None:
            continue
        try:
            _apply(row, json.loads(row.raw))
            row.processed_at = now or utcnow()
            row.error = None
            db.session.commit()
            done += 1
        except Exception as exc:
            db.session.rollback()
            log.warning("webhook event %s failed: %s", event_id, exc)
            row = db.session.get(WebhookEvent, event_id)
            row.attempts += 1
            row.error = f"{type(exc).__name__}: {exc}"[:2000]
            db.session.commit()
    return done


def process_pending(now: datetime | None = None, limit: int = 500) -> int:
    """The worker's retry: events left unprocessed for a minute, a few times each."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(WebhookEvent.id)
        .where(
            WebhookEvent.processed_at.is_(None),
            WebhookEvent.received_at <= now - RETRY_AFTER,
            WebhookEvent.attempts < MAX_ATTEMPTS,
        )
        .order_by(WebhookEvent.id)
        .limit(limit)
    ).all()
    db.session.commit()
    return process(ids, now)


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


def _history(message: Message | None, kind: str, token: str, at: datetime, **data: str) -> None:
    """One entry in the case history; the token makes a second one impossible."""
    if message is None or message.case_id is None:
        return
    form_token = hashlib.sha256(f"mailjet:{token}".encode()).hexdigest()
    if db.session.scalar(select(CaseEvent.id).where(CaseEvent.form_token == form_token)):
        return
    db.session.add(
        CaseEvent(
            case_id=message.case_id,
            kind=kind,
            data={"message_id": message.id, **data},
            form_token=form_token,
            created_at=at,
        )
    )
    db.session.flush()


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

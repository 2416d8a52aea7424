"""Sending stored messages: claim a batch, resolve lost answers, check consent, send,
record the outcome (PRODUCT.md M1, M5, M7).

**Claim.** A short transaction selects due messages (``queued`` or ``unknown`` whose
``send_after`` passed, and ``sending`` ones whose lease ran out) with ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL, so several workers on several machines never pick the
same row, and marks them ``sending`` with ``locked_by`` (this worker) and
``locked_until`` (the lease). SQLite has no row locks: the update repeats the "due"
condition and SQLite serialises writers, but run one worker per SQLite database.

**Lost answers.** A message that was ``sending`` when its lease ran out (a worker
killed mid-batch) or whose send ended ``unknown`` (read timeout, dropped connection,
5xx) may have reached Mailjet. It gets ``unknown_since`` and is never sent blindly
again: it is looked up by CustomID (= our message id) first. Found → ``sent``. Not
found → it waits until ``lookup_grace_seconds`` have passed since it became unknown
(Mailjet's message API can lag behind the Send API), looking again meanwhile, and
only then is sent again. SMS providers (Mailjet, Twilio) have no CustomID for SMS, so
an unknown SMS fails with that reason instead of risking a second SMS; an admin can
retry it.

**Channels.** Emails go through Mailjet; each SMS goes through the provider stored on
it (the company's choice when it was queued, see ``channels/``), opened on first use.

**Outcomes.** ``accepted`` → ``sent``; ``rejected`` → ``failed`` with Mailjet's code
and text. A refusal of the key or the sender (``halt``: 401 ``mj-0001``, ``send-0006``
… ``send-0008``) also stops the batch for that provider: what was not sent yet goes
back to ``queued`` untouched, the admin's warning (``alert.py``) is raised and the
worker pauses for ``retry_max_seconds``; the next accepted send takes the warning down.
``retry`` → back to ``queued`` with exponential back-off (at least the
``Retry-After``), ``failed`` after ``max_attempts``; ``unknown`` → as above. Every
outcome is written only if the row still belongs to this worker's claim.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.orm import joinedload

from .. import formatting
from ..extensions import db
from ..models import CaseEvent, Company, Customer, Message, business_tz, utcnow
from ..models.bulk import among, keyed
from ..models.message import Channel
from ..models.types import UTCDateTime
from . import alert, cap, channels, consent, outbox
from .mailjet import (
    MAX_MESSAGES_PER_CALL,
    LookupResult,
    MailjetError,
    MailjetTransport,
    MailjetUnavailable,
    OutgoingEmail,
)
from .options import MessagingOptions
from .pace import MAILJET, Pace
from .transport import (
    ACCEPTED,
    REJECTED,
    RETRY,
    NotSetUp,
    OutgoingSms,
    SendResult,
    SmsTransport,
)

Now = Callable[[], datetime]

# A claimed message as the send reads it: every column of ``message`` (attributes named
# as on ``Message``) and the customer's columns the consent check needs
# (``customer_found`` is NULL when the customer was deleted).
_CLAIMED = (
    *Message.__table__.c,
    Customer.id.label("customer_found"),
    Customer.email.label("customer_email"),
    Customer.mobile.label("customer_mobile"),
    Customer.marketing_consent.label("customer_consent"),
)


class _Recipient(NamedTuple):
    """The customer of a claimed row, as ``consent.blocked_reasons`` reads one."""

    id: int
    email: str | None
    mobile: str | None
    marketing_consent: bool | None


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    resolved: int = 0  # lost answers found at Mailjet: sent, not sent again
    failed: int = 0
    cancelled: int = 0
    retry: int = 0
    unknown: int = 0
    outbox: int = 0
    held: int = 0  # held back by the marketing cap, queued for when it allows
    pause: float = 0.0  # Mailjet asked us to slow down for this many seconds
    errors: list[str] = field(default_factory=list)


class Transports:
    """One worker's open connections: Mailjet for email, and each SMS provider's
    transport, opened when its first SMS is due."""

    def __init__(
        self,
        email: MailjetTransport,
        config: Mapping[str, object] | None = None,
        options: MessagingOptions | None = None,
    ) -> None:
        self.email = email
        self._config = config or {}
        self._options = options or MessagingOptions()
        self._sms: dict[str, SmsTransport] = {}

    def sms(self, provider_name: str | None) -> SmsTransport:
        """The provider's transport; NotSetUp when its keys are missing."""
        provider = channels.sms_provider(provider_name)
        if provider.name not in self._sms:
            if not provider.configured(self._config):
                raise NotSetUp(str(provider.not_set_up))
            self._sms[provider.name] = provider.open(self._config, self._options)
        return self._sms[provider.name]

    def close(self) -> None:
        for transport in (self.email, *self._sms.values()):
            transport.close()
        self._sms.clear()

    def __enter__(self) -> Transports:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def transport_from_config(config, options: MessagingOptions) -> Transports:
    email = channels.channel(Channel.EMAIL).open(config, options)
    return Transports(email, config, options)


def backoff(attempts: int, options: MessagingOptions, retry_after: float | None = None) -> float:
    """Seconds until the next try: doubling from the base, capped, never below Retry-After."""
    delay = min(options.retry_base_seconds * 2 ** max(attempts - 1, 0), options.retry_max_seconds)
    return max(delay, retry_after or 0.0)


class Sender:
    """One worker's sending engine: its transports, its share of the rate limit, one
    worker id."""

    def __init__(
        self,
        worker_id: str,
        options: MessagingOptions,
        transport: Transports | None,
        pace: Pace,
        now: Now = utcnow,
    ) -> None:
        self.worker_id = worker_id
        self.options = options
        self.transport = transport  # None: offline, due messages go to the outbox
        self.pace = pace  # pace.pace_for: shared by the workers on PostgreSQL
        self.now = now
        self._uncertain: set[int] = set()
        self._cleared: set[str] = set()  # the sources whose warning this batch took down
        self._leases_read: datetime | None = None  # the last look for run-out leases

    # -- claim -----------------------------------------------------------------------------

    def claim(self, limit: int | None = None) -> list[int]:
        """Mark up to ``limit`` due messages ``sending`` for this worker; commits."""
        now = self.now()
        due = or_(
            and_(Message.state.in_(("queued", "unknown")), Message.send_after <= now),
            and_(Message.state == "sending", Message.locked_until < now),
        )
        lease = now + timedelta(seconds=self.options.lease_seconds)
        # Two statements on purpose: PostgreSQL may run an IN (… LIMIT … SKIP LOCKED)
        # subquery more than once inside one UPDATE and so claim more than the limit.
        ids = self._due_ids(now, limit or self.claim_size, self._read_leases(now))
        if not ids:
            db.session.commit()
            return []
        claimed = db.session.execute(
            update(Message)
            .where(among(Message.id, ids), due)
            .values(
                # A lease that ran out mid-send: the message may be at Mailjet already.
                unknown_since=case(
                    (
                        Message.state == "sending",
                        func.coalesce(Message.unknown_since, literal(now, UTCDateTime())),
                    ),
                    else_=Message.unknown_since,
                ),
                state="sending",
                locked_by=self.worker_id,
                locked_until=lease,
            )
            .returning(Message.id, Message.unknown_since, Message.channel)
            .execution_options(synchronize_session=False)
        )
        rows = claimed.all()
        db.session.commit()
        # Emails that may be at Mailjet already: looked up before anything is sent.
        self._uncertain = {i for i, since, channel in rows if since and channel == Channel.EMAIL}
        return sorted(i for i, _since, _channel in rows)

    @property
    def claim_size(self) -> int:
        """Messages claimed at once: ``claim_size``, but no more than this worker sends
        in a third of the lease at its rate, so a claim is sent long before its lease
        runs out (and another worker would take the rest for lost answers)."""
        options = self.options
        in_time = int(options.batch_size * options.rate * options.lease_seconds / 3)
        return max(options.batch_size, min(options.claim_size, in_time))

    def _read_leases(self, now: datetime) -> bool:
        """Whether this claim looks for run-out leases too: the first claim, then once
        in a tenth of the lease (at most every 10 s).

        That look reads every ``sending`` entry of the state index – with a serial
        message every message passes through ``sending``, and the entries of the ones
        sent are dead, visited one by one as long as any transaction on the server (a
        sync, an analysis, in any database) is older than them: 20–40 ms per claim of
        500 late in a send of 100 000 on a shared machine. A lease runs out after
        ``lease_seconds``; finding it a tenth of that later changes nothing."""
        interval = min(10.0, self.options.lease_seconds / 10)
        last = self._leases_read
        if last is not None and 0 <= (now - last).total_seconds() < interval:
            return False
        self._leases_read = now
        return True

    @staticmethod
    def _due_ids(now: datetime, limit: int, leases: bool = True) -> list[int]:
        """The ``limit`` due messages that have waited longest, locked (PostgreSQL);
        with ``leases`` the ``sending`` ones whose lease ran out too.

        One statement per state, each read in the order of the (state, send_after) index
        and stopped after ``limit`` rows: one statement with an OR over the states reads
        and sorts every due row on each claim – with 100 000 queued messages (a serial
        message) 0.3 s per batch of 50 instead of well under a millisecond. The oldest of
        the candidates are taken; the few others stay locked until the claim commits.
        """
        found = []
        states = [
            and_(Message.state == "queued", Message.send_after <= now),
            and_(Message.state == "unknown", Message.send_after <= now),
        ]
        if leases:
            states.append(and_(Message.state == "sending", Message.locked_until < now))
        for due in states:
            found += db.session.execute(
                select(Message.send_after, Message.id)
                .where(due)
                .order_by(Message.send_after)
                .limit(limit)
                .with_for_update(skip_locked=True)  # PostgreSQL; SQLite ignores it
            ).all()
        return [message_id for _at, message_id in sorted(found)[:limit]]

    # -- one batch -------------------------------------------------------------------------

    def run_batch(self, limit: int | None = None) -> BatchResult:
        ids = self.claim(limit)
        result = BatchResult(claimed=len(ids))
        if ids:
            self.process(ids, result)
        return result

    def process(self, ids: Iterable[int], result: BatchResult) -> None:
        """Send the claimed messages; no transaction stays open during a Mailjet call."""
        ids = list(ids)
        if self.transport is None:
            for message in self._gate(self._owned(ids), ids, result):
                outbox.put_in_outbox(message)
                self._unlock(message)
                result.outbox += message.state == "outbox"
                result.cancelled += message.state == "cancelled"
            db.session.commit()
            return
        emails, texts = self._outgoing(ids, result)
        self._cleared = set()
        stopped: set[str] = set()  # the sources that refused the key or the sender
        held: list[str] = []  # not sent: their source stopped, or Mailjet said "slow down"
        per_call = min(self.options.batch_size, MAX_MESSAGES_PER_CALL)
        for start in range(0, len(emails), per_call):
            chunk = emails[start : start + per_call]
            if Channel.EMAIL in stopped or result.pause:
                held += [e.custom_id for e in chunk]
                continue
            self.pace.take(MAILJET)
            self._record(self.transport.email.send_emails(chunk), result, Channel.EMAIL, stopped)
        for provider, text in texts:
            source = f"sms:{channels.sms_provider(provider).name}"
            if source in stopped or result.pause:
                held.append(text.custom_id)
                continue
            self.pace.take(source)
            try:
                outcome = self.transport.sms(provider).send_sms(text)
            except NotSetUp as exc:  # nothing was sent
                outcome = SendResult(
                    text.custom_id, REJECTED, error_code="setup", error_message=str(exc)
                )
            self._record([outcome], result, source, stopped)
        if held:
            self._hold(held, result)

    # -- before sending ----------------------------------------------------------------------

    def _outgoing(
        self, ids: list[int], result: BatchResult
    ) -> tuple[list[OutgoingEmail], list[tuple[str | None, OutgoingSms]]]:
        """What of the claim goes out now, as plain emails and SMS; the rest is decided
        (found at Mailjet, cancelled, held, failed) and committed.

        The claim is re-read as plain rows with the customers' consent columns
        (``_claimed_rows``): building 500 messages with their customers and companies as
        ORM objects, and expiring them at the commit, was half of a worker's CPU outside
        the Mailjet calls, and the claim's pause between two calls is sending time lost
        when no other worker takes the slots. ORM objects are loaded (locked) only for the
        few messages something is written to: a lost answer to resolve, a cancel, a
        hold, a failure."""
        lookups = self._look_up(ids)
        rows = self._claimed_rows(ids)
        uncertain = [r.id for r in rows if r.unknown_since is not None]
        objects = {m.id: m for m in self._owned(uncertain)} if uncertain else {}
        ready = [
            r
            for r in rows
            if r.unknown_since is None
            or (r.id in objects and self._resolve(objects[r.id], lookups.get(r.id), result))
        ]
        reasons = self._blocked(ready)  # right before the send, after any look-up
        cancel = {r.id: reason for r in ready if (reason := reasons.get(r.id))}
        going = self._gate([r for r in ready if r.id not in cancel], ids, result, cancel)
        companies = self._companies(going)
        emails: list[OutgoingEmail] = []
        texts: list[tuple[str | None, OutgoingSms]] = []
        invalid: dict[int, str] = {}
        for message in going:
            try:
                if message.channel == Channel.SMS:
                    texts.append((message.provider, self._sms(message)))
                else:
                    emails.append(self._email(message, companies.get(message.company_id)))
            except ValueError as exc:
                invalid[message.id] = str(exc)
        for message in self._objects(going, invalid):
            self._fail(message, "invalid", invalid[message.id], result)
        db.session.commit()
        return emails, texts

    def _claimed_rows(self, ids: list[int]) -> list[Any]:
        """The claim re-read: this worker's ``sending`` rows among ``ids`` (``_CLAIMED``)."""
        return list(
            db.session.execute(
                select(*_CLAIMED)
                .outerjoin(Customer, Customer.id == Message.customer_id)
                .where(
                    among(Message.id, ids),
                    Message.state_in("sending"),
                    Message.locked_by == self.worker_id,
                )
                .order_by(Message.id)
            )
        )

    def _objects(self, messages: Sequence[Any], ids: Iterable[int]) -> list[Message]:
        """The ORM objects of ``ids`` among ``messages`` to write to: the messages
        themselves when they are objects (the outbox), otherwise loaded and locked –
        those still this worker's claim, in id order."""
        wanted = set(ids)
        if not wanted:
            return []
        given = [m for m in messages if m.id in wanted and isinstance(m, Message)]
        if len(given) == len(wanted):
            return sorted(given, key=lambda m: m.id)
        return self._owned(sorted(wanted), lock=True)

    def _owned(self, ids: list[int], lock: bool = False) -> list[Message]:
        """ORM objects of this worker's ``sending`` messages among ``ids``: locked to
        write an outcome, otherwise with customer and company (the outbox)."""
        stmt = (
            select(Message)
            .where(
                among(Message.id, ids),
                Message.state_in("sending"),
                Message.locked_by == self.worker_id,
            )
            .order_by(Message.id)
            .execution_options(populate_existing=True)
        )
        if lock:
            stmt = stmt.with_for_update()
        else:
            stmt = stmt.options(joinedload(Message.customer), joinedload(Message.company))
        return list(db.session.scalars(stmt))

    @staticmethod
    def _companies(messages: Iterable[Any]) -> dict[int, Company]:
        """The senders' companies of a batch (one or a few), by id, with one query."""
        ids = sorted({m.company_id for m in messages if m.company_id is not None})
        if not ids:
            return {}
        return {c.id: c for c in db.session.scalars(select(Company).where(among(Company.id, ids)))}

    def _look_up(self, ids: list[int]) -> dict[int, LookupResult | MailjetError]:
        """Ask Mailjet about every lost answer among ``ids`` (emails only, by CustomID).

        Runs between transactions; an uncertain message not known from this worker's
        own claim gets no answer here and simply waits for a later batch.
        """
        pending = sorted(self._uncertain.intersection(ids))
        found: dict[int, LookupResult | MailjetError] = {}
        # Stay well inside the lease: what is not looked up now waits for the next batch.
        deadline = time.monotonic() + self.options.lease_seconds / 3
        for message_id in pending:
            if time.monotonic() > deadline:
                break
            self.pace.take(MAILJET)
            try:
                found[message_id] = self.transport.email.find_by_custom_id(str(message_id))
            except MailjetError as exc:
                found[message_id] = exc
        return found

    def _resolve(
        self, message: Message, lookup: LookupResult | MailjetError | None, result: BatchResult
    ) -> bool:
        """Decide about a possibly sent message; True when it should be sent (again) now."""
        now = self.now()
        if message.channel != Channel.EMAIL:
            self._fail(
                message,
                "unknown",
                _(
                    "The SMS provider may have sent this SMS (the answer was lost). SMS "
                    "cannot be looked up, so it is not sent again automatically."
                ),
                result,
            )
            return False
        if lookup is None:  # no time left for it in this batch
            self._wait_unknown(message, message.last_error, now, None, result)
            return False
        if isinstance(lookup, MailjetError):
            retry_after = lookup.retry_after if isinstance(lookup, MailjetUnavailable) else None
            reason = _("look-up failed: %(error)s", error=str(lookup))
            self._wait_unknown(message, reason, now, retry_after, result)
            return False
        if lookup.found:
            message.state = "sent"
            message.provider_id = lookup.provider_id or message.provider_id
            message.sent_at = message.sent_at or now
            message.unknown_since = None
            message.last_error = None
            message.error_code = None
            self._unlock(message)
            result.resolved += 1
            return False
        waited = (now - message.unknown_since).total_seconds()
        if waited < self.options.lookup_grace_seconds:
            self._wait_unknown(message, message.last_error, now, None, result)
            return False
        if message.attempts >= self.options.max_attempts:
            self._fail(
                message,
                message.error_code or "unknown",
                _(
                    "not at Mailjet after %(n)s attempts: %(error)s",
                    n=message.attempts,
                    error=message.last_error or "",
                ),
                result,
            )
            return False
        return True

    def _wait_unknown(
        self,
        message: Message,
        reason: str | None,
        now: datetime,
        retry_after: float | None,
        result: BatchResult,
    ) -> None:
        grace_left = self.options.lookup_grace_seconds - (
            (now - message.unknown_since).total_seconds() if message.unknown_since else 0.0
        )
        delay = max(min(self.options.lookup_delay_seconds, grace_left), retry_after or 0.0, 0.0)
        message.state = "unknown"
        message.unknown_since = message.unknown_since or now
        message.send_after = now + timedelta(seconds=delay)
        message.last_error = reason
        self._unlock(message)
        result.unknown += 1

    @staticmethod
    def _blocked(messages: list[Any]) -> dict[int, str | None]:
        """Why each marketing message (claimed row) may not go out now (consent,
        address), by id."""
        reasons: dict[int, str | None] = {}
        for channel in channels.channels():
            batch = [m for m in messages if m.marketing and m.channel == channel.name]
            customers = {
                m.customer_id: _Recipient(
                    m.customer_id, m.customer_email, m.customer_mobile, m.customer_consent
                )
                for m in batch
                if m.customer_found is not None
            }
            found = consent.blocked_reasons(customers.values(), channel.name)
            for message in batch:
                reasons[message.id] = (
                    found[message.customer_id]
                    if message.customer_found is not None
                    else _("the customer no longer exists")
                )
        return reasons

    def _gate(
        self,
        messages: list[Any],
        ids: list[int],
        result: BatchResult,
        cancel: Mapping[int, str] | None = None,
    ) -> list[Any]:
        """The messages that go now (R7): a feature's message that is no longer relevant
        is cancelled with its reason; an automatic or bulk marketing message the cap
        forbids is held until the cap allows (noted once in the case history).

        ``messages`` are claimed rows or ORM objects (the outbox); ``cancel`` names
        messages already decided against (consent) with their reasons. The decisions
        are written through ORM objects of the decided messages only (``_objects``)."""
        now = self.now()
        cancel = dict(cancel or {})
        held: dict[int, datetime] = {}
        going: list[Any] = []
        marketing = [m for m in messages if m.marketing and m.customer_id is not None]
        limit = cap.MarketingCap.load() if marketing else cap.MarketingCap()
        sent = limit.sent_since((m.customer_id for m in marketing), ids, now) if marketing else {}
        reasons: dict[int, str] = {}
        for purpose in {m.purpose for m in marketing}:
            feature = cap.AUTOMATIC.get(purpose)
            if feature is not None:
                reasons.update(feature.why_not([m for m in marketing if m.purpose == purpose], now))
        checked = {m.id for m in marketing}
        for message in messages:
            if message.id not in checked:
                going.append(message)
                continue
            reason = reasons.get(message.id)
            if reason:
                cancel[message.id] = reason
                continue
            earlier = sent.setdefault(message.customer_id, [])
            last = (
                limit.blocking(message, earlier) if message.purpose in cap.HELD_PURPOSES else None
            )
            if last is not None:
                held[message.id] = last
                continue
            going.append(message)
            earlier.append(
                cap.Sent(message.id, message.purpose, message.case_id, message.created_at, now)
            )
        for message in self._objects(messages, [*cancel, *held]):
            if message.id in cancel:
                self._cancel(message, cancel[message.id], result)
            else:
                feature = cap.AUTOMATIC.get(message.purpose)
                self._hold_capped(message, held[message.id], limit, feature, now, result)
        return going

    def _hold_capped(
        self,
        message: Message,
        last: datetime,
        limit: cap.MarketingCap,
        feature: cap.Automatic | None,
        now: datetime,
        result: BatchResult,
    ) -> None:
        until = max(last + timedelta(days=limit.days), now)
        if feature is not None:
            until = feature.next_send(until)
            feature.on_hold(message, until)
        message.state = "queued"
        message.send_after = until
        message.error_code = "cap"
        message.last_error = _(
            "held back by the marketing cap: the customer got a marketing message on "
            "%(last)s; it goes out when the cap allows",
            last=formatting.day(last, str(get_locale() or "de"), business_tz()),
        )
        self._unlock(message)
        result.held += 1
        token = f"cap-held:{message.id}"
        if message.case_id is not None and not db.session.scalar(
            select(CaseEvent.id).where(CaseEvent.form_token == token)
        ):
            db.session.add(
                CaseEvent(
                    case_id=message.case_id,
                    kind="marketing_held",
                    data={
                        "message_id": message.id,
                        "purpose": message.purpose,
                        "last": last.isoformat(),
                        "until": until.isoformat(),
                    },
                    form_token=token,
                    created_at=now,
                )
            )

    def _email(self, message: Any, company: Company | None) -> OutgoingEmail:
        """The email of a claimed row (or a message), sent for ``company``."""
        sender = (company.sender_email if company else None) or message.from_address
        sender = sender or self.options.default_sender
        if not sender:
            raise ValueError(_("no sender address: set one for the company"))
        name = (company.sender_name or company.name) if company and company.sender_email else None
        variables = dict(message.variables or {})
        report = (company.error_report_email if company else None) or (
            self.options.error_report_email
        )
        return OutgoingEmail(
            custom_id=str(message.id),
            to_email=message.to_address,
            to_name=message.to_name or "",
            from_email=sender,
            from_name=name or message.from_name or "",
            template_id=message.template_id,
            variables=variables,
            subject=message.subject,
            text=message.body,
            error_report_email=report if message.template_id else None,
            unsubscribe_url=(variables.get("abmeldelink") or None) if message.marketing else None,
        )

    @staticmethod
    def _sms(message: Any) -> OutgoingSms:
        if not message.from_address:
            raise ValueError(_("no SMS sender: set one for the company"))
        return OutgoingSms(
            custom_id=str(message.id),
            sender=message.from_address,
            to=message.to_address,
            text=message.body or "",
        )

    # -- after sending -----------------------------------------------------------------------

    def _record(
        self, results: list[SendResult], result: BatchResult, source: str, stopped: set[str]
    ) -> None:
        """Write each outcome, for the rows that are still this worker's; a refusal of the
        key or the sender adds ``source`` to ``stopped`` and raises the admin's warning."""
        now = self.now()
        accepted = [r for r in results if r.outcome == ACCEPTED]
        halted = next((r for r in results if r.halt), None)
        if halted is not None:
            stopped.add(source)
            alert.raise_alert(source, halted.error_code, halted.error_message, now)
            result.pause = max(result.pause, self.options.retry_max_seconds)
        elif accepted and source not in self._cleared:
            # Once per batch and source: a read of the setting per call of 50 was a
            # round trip and an ORM object each time.
            alert.clear(source)
            self._cleared.add(source)
        if accepted:
            # The common case in one statement: the guard keeps a lost lease untouched.
            # Each message's provider id: PostgreSQL joins the pairs from two arrays
            # (a CASE with a branch per message was parsed and planned per call).
            sent, provider_id = keyed(
                Message.id,
                {int(r.custom_id): r.provider_id for r in accepted},
                Message.provider_id.type,
            )
            db.session.execute(
                update(Message)
                .where(sent, Message.locked_by == self.worker_id, Message.state_in("sending"))
                .values(
                    state="sent",
                    sent_at=now,
                    provider_id=provider_id,
                    attempts=Message.attempts + 1,
                    unknown_since=None,
                    error_code=None,
                    last_error=None,
                    locked_by=None,
                    locked_until=None,
                )
                .execution_options(synchronize_session=False)
            )
            result.sent += len(accepted)
        others = {int(r.custom_id): r for r in results if r.outcome != ACCEPTED}
        for message in self._owned(list(others), lock=True) if others else ():
            outcome = others[message.id]
            message.attempts += 1
            if outcome.outcome == REJECTED:
                self._fail(message, outcome.error_code, outcome.error_message, result)
            elif outcome.outcome == RETRY:
                self._retry(message, outcome, now, result)
            else:
                message.error_code = outcome.error_code
                self._wait_unknown(message, _text(outcome), now, outcome.retry_after, result)
        db.session.commit()

    def _retry(self, message: Message, outcome: SendResult, now: datetime, result) -> None:
        if outcome.retry_after:
            result.pause = max(result.pause, outcome.retry_after)
        if message.attempts >= self.options.max_attempts:
            self._fail(
                message,
                outcome.error_code,
                _(
                    "gave up after %(n)s attempts: %(error)s",
                    n=message.attempts,
                    error=_text(outcome),
                ),
                result,
            )
            return
        delay = backoff(message.attempts, self.options, outcome.retry_after)
        message.state = "queued"
        message.send_after = now + timedelta(seconds=delay)
        message.error_code = outcome.error_code
        message.last_error = _text(outcome)
        self._unlock(message)
        result.retry += 1

    def _hold(self, custom_ids: list[str], result: BatchResult) -> None:
        """Give back claimed messages that were not sent: queued as before, no attempt."""
        for message in self._owned([int(i) for i in custom_ids], lock=True):
            message.state = "queued"
            self._unlock(message)
            result.retry += 1
        db.session.commit()

    # -- final states --------------------------------------------------------------------------

    def _fail(self, message: Message, code: str | None, reason: str | None, result) -> None:
        message.state = "failed"
        message.error_code = (code or "")[:50] or None
        message.last_error = reason or code or "failed"
        self._unlock(message)
        result.failed += 1

    def _cancel(self, message: Message, reason: str, result: BatchResult) -> None:
        message.state = "cancelled"
        message.last_error = reason
        message.unknown_since = None
        self._unlock(message)
        result.cancelled += 1

    @staticmethod
    def _unlock(message: Message) -> None:
        message.locked_by = None
        message.locked_until = None


def _text(outcome: SendResult) -> str:
    parts = [p for p in (outcome.error_code, outcome.error_message) if p]
    return ": ".join(parts) or outcome.outcome

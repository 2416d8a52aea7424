"""Queueing a serial message: the ``serial message`` job (PRODUCT.md G4, issue 15).

The recipients are read a chunk at a time, each chunk one statement: the next
:data:`CHUNK` members (or confirmed subscribers) after ``queued_through`` in the order
of the group's (newsletter's) unique index on the customer, with what each message
needs of its customer – the customer's columns, the email do-not-contact reason, the
last completed or open order and its main product group. A chunk reads only its own
rows, so the job's work grows with the recipients, not with their square.

Python writes what only Python can – the salutation, the variables, the signed
unsubscribe link, the text – and the chunk's messages go in as one statement that
skips a recipient who has one (``(serial_message_id, customer_id)`` is unique). The
messages, ``queued_through`` and the counts commit together: a job that dies half-way
and runs again goes on after the last committed chunk, and writes nobody twice.
Consent, the marketing cap, the send windows and "still a recipient?" are then the
sending loop's, right before each send (``serial.why_not``).
"""

from __future__ import annotations

import json
import select as select_module
from collections import Counter, namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect, Integer, Select, bindparam, func, select, text

from ..extensions import db
from ..messaging import consent, outbox
from ..models import (
    Customer,
    Message,
    MessagePurpose,
    Order,
    OrderLine,
    ProductGroup,
    SerialMessage,
    SerialState,
)
from ..models.bulk import insert_rows
from ..models.customer import display_name
from ..models.message import Channel
from .serial import members, render, values_for
from .windows import SendWindows

CHUNK = 2000
_REAL = ("completed", "open")

# What a recipient's message needs of the customer: read as plain rows, not as objects.
_COLUMNS = (
    Customer.id,
    Customer.first_name,
    Customer.last_name,
    Customer.company_name,
    Customer.salutation,
    Customer.city,
    Customer.country,
    Customer.email,
    Customer.number,
    Customer.customer_group,
    Customer.locale,
    Customer.marketing_consent,
)


def next_recipients(serial: SerialMessage, restricted_to: int | None) -> Select:
    """The next :data:`CHUNK` recipients after the customer id bound as ``after``, each
    with its email do-not-contact reason (``dnc``), its last completed or open order's
    time (``last_order_at``, of ``restricted_to``'s orders when the sender is restricted
    to a company) and that order's main product group (``last_product_group``).

    Everything is looked up per recipient inside the page (index lookups from the
    member's row): a join outside it lets PostgreSQL hash whole tables for each chunk,
    while a subquery with a LIMIT is run as written, once per recipient.
    """
    page = members(serial)
    member = page.selected_columns[0]
    after = bindparam("after", type_=Integer)
    last_order = select(Order.id).where(Order.customer_id == member, Order.state.in_(_REAL))
    if restricted_to is not None:
        last_order = last_order.where(Order.company_id == restricted_to)
    last_order = last_order.order_by(Order.ordered_at.desc(), Order.id.desc()).limit(1)
    page = (
        page.with_only_columns(
            *_COLUMNS,
            consent.record_subquery(Customer.id, Channel.EMAIL).label("dnc"),
            last_order.scalar_subquery().label("last_order_id"),
        )
        .join_from(member.table, Customer, Customer.id == member)
        # Both sides of the join start after the last chunk (whichever PostgreSQL reads first).
        .where(member > after, Customer.id > after)
        .order_by(member)
        .limit(CHUNK)
        .subquery()
    )
    ordered_at = select(Order.ordered_at).where(Order.id == page.c.last_order_id)
    main_group = (
        select(ProductGroup.name)
        .select_from(OrderLine)
        .join(OrderLine.product_group)
        .where(OrderLine.order_id == page.c.last_order_id)
        .group_by(ProductGroup.name)
        .order_by(func.sum(OrderLine.net_amount).desc(), ProductGroup.name)
        .limit(1)
    )
    return select(
        page,
        ordered_at.scalar_subquery().label("last_order_at"),
        main_group.scalar_subquery().label("last_product_group"),
    ).order_by(page.c.id)


@dataclass
class QueueResult:
    queued: int
    skipped: dict[str, int]


@dataclass
class _Chunk:
    """A chunk of recipients and what Python wrote for them."""

    last_id: int
    messages: list[dict[str, Any]]
    skipped: Counter[str]


def queue_messages(
    serial_id: int, now: datetime, progress: Callable[[int], object] | None = None
) -> QueueResult:
    """Queue one message per recipient not yet queued, a chunk per transaction; Python
    writes each chunk's messages while the database stores the chunk before."""
    serial = db.session.get(SerialMessage, serial_id)
    if serial is None or serial.state != SerialState.QUEUEING:  # deleted, or done already
        return QueueResult(0, {})
    creator = serial.created_by
    stmt = next_recipients(serial, creator.company_id if creator else None)
    rows = _Rows(serial, SendWindows.load().next_open(now), now)

    # Named tuples: a recipient's fields are read some 25 times, a Row's slowly.
    recipient = namedtuple("Recipient", stmt.selected_columns.keys())

    def recipients_after(after: int) -> list[Any]:
        return list(map(recipient._make, db.session.execute(stmt, {"after": after}).tuples()))

    with _kept_loaded():
        first = recipients_after(serial.queued_through)
        chunk = rows.chunk(first) if first else None
        while chunk is not None:
            upcoming = recipients_after(chunk.last_id)  # read before the connection is busy
            with _inserting(chunk.messages):
                following = rows.chunk(upcoming) if upcoming else None
            serial.queued_through = chunk.last_id
            serial.recipients += len(chunk.messages)
            serial.skipped = dict(chunk.skipped + Counter(serial.skipped or {}))
            db.session.commit()
            if progress is not None:
                progress(serial.recipients)
            chunk = following
    serial.state, serial.queued_at = SerialState.SENT, now
    serial.recipients = db.session.scalar(
        select(func.count()).select_from(Message).where(Message.serial_message_id == serial.id)
    )
    db.session.commit()
    _analyse_messages()
    return QueueResult(serial.recipients, dict(serial.skipped or {}))


def _analyse_messages() -> None:
    """Bring PostgreSQL's statistics of the message table up to date (a sample, well
    under a second): the job has just added up to hundreds of thousands of queued rows,
    and until autovacuum notices, the planner believes hardly any message is queued –
    each worker's claim then reads and sorts every queued row (0.4 s per claim of 500
    at 100 000) instead of stopping after 500 along the (state, send_after) index."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE message"))
        db.session.commit()


def skip_reason(recipient: Any) -> str | None:
    """Why a recipient gets no message: the reasons of the consent check, as keys."""
    if not recipient.email:
        return "no_email"
    if recipient.dnc is not None:
        return recipient.dnc
    if recipient.marketing_consent is False:
        return "no_consent"
    return None


class _Rows:
    """The message rows of one serial message: what every recipient's row shares is
    worked out once per job, the rest per recipient."""

    def __init__(self, serial: SerialMessage, send_at: datetime, now: datetime) -> None:
        self.serial, self.creator, self.company = serial, serial.created_by, serial.company
        self.links = outbox.UnsubscribeLinks()
        self.shared = {
            "company_id": self.company.id,
            "channel": Channel.EMAIL,
            "purpose": MessagePurpose.NEWSLETTER,
            "marketing": True,
            "template_kind": "serial" if serial.template_id else None,
            "template_id": serial.template_id,
            "from_address": self.company.sender_email,
            "from_name": self.company.sender_name or self.company.name,
            "state": "queued",
            "send_after": send_at,
            "attempts": 0,
            "created_by_id": serial.created_by_id,
            "created_at": now,
            "serial_message_id": serial.id,
        }

    def chunk(self, recipients: list[Any]) -> _Chunk:
        messages, skipped = [], Counter()
        for recipient in recipients:
            reason = skip_reason(recipient)
            if reason:
                skipped[reason] += 1
            else:
                messages.append(self.message(recipient))
        return _Chunk(recipients[-1].id, messages, skipped)

    def message(self, recipient: Any) -> dict[str, Any]:
        ctx = outbox.CustomerContext(
            recipient.last_order_at, recipient.last_product_group, self.company
        )
        values = values_for(self.serial, recipient, ctx, self.creator, self.links)
        rendered = render(self.serial, values, recipient.locale)
        return {
            **self.shared,
            "customer_id": recipient.id,
            "to_address": recipient.email,
            "to_name": display_name(
                recipient.first_name,
                recipient.last_name,
                recipient.company_name,
                recipient.number,
                recipient.id,
            ),
            "subject": rendered.subject,
            "body": rendered.text,
            "variables": rendered.variables,
        }


@contextmanager
def _kept_loaded() -> Iterator[None]:
    """The job's serial message, company and creator stay loaded across its commits:
    the next chunk is written while the database stores the last one, and reloading
    them then would have to wait for that on the same connection."""
    session = db.session()
    expiring, session.expire_on_commit = session.expire_on_commit, False
    try:
        yield
    finally:
        session.expire_on_commit = expiring


_UNIQUE = ["serial_message_id", "customer_id"]


@contextmanager
def _inserting(rows: list[dict[str, Any]]) -> Iterator[None]:
    """Insert a chunk's messages, skipping a recipient who has one (the unique key),
    and run the block meanwhile.

    On PostgreSQL the chunk is one statement with the rows as one JSON parameter
    (``jsonb_to_recordset``: the server reads them in C, where a multi-row VALUES of
    40 000 parameters costs the driver more than the database), sent in pipeline mode:
    the block runs while the server stores the rows, and leaving it waits for the
    insert (and raises its error). Elsewhere (SQLite) the rows go in first, as
    multi-row INSERTs, then the block runs.
    """
    dialect = db.session.get_bind().dialect
    if not rows or dialect.name != "postgresql":
        insert_rows(Message.__table__, rows, skip_existing=_UNIQUE)
        yield
        return
    raw = db.session.connection().connection.driver_connection
    with raw.pipeline():
        raw.execute(_insert_sql(tuple(rows[0]), dialect), {"rows": json.dumps(rows, default=_iso)})
        # psycopg leaves what does not fit the socket in its buffer until the pipeline
        # syncs: send it all now, so the server has the whole chunk while the block runs.
        while raw.pgconn.flush():
            select_module.select([], [raw.fileno()], [])
        yield


@lru_cache(maxsize=4)
def _insert_sql(names: tuple[str, ...], dialect: Dialect) -> str:
    table = Message.__table__
    columns = ", ".join(names)
    shapes = ", ".join(f"{n} {table.c[n].type.compile(dialect=dialect)}" for n in names)
    return (
        f"INSERT INTO message ({columns}) SELECT {columns} "  # noqa: S608 (our column names)
        f"FROM jsonb_to_recordset(CAST(%(rows)s AS jsonb)) AS r({shapes}) "
        f"ON CONFLICT ({', '.join(_UNIQUE)}) DO NOTHING"
    )


@lru_cache(maxsize=16)
def _iso(value: object) -> str:
    """Times as the database keeps them (naive UTC, see ``UTCDateTime``); the few
    times of a job (when queued, when to send) converted once each."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")

"""The demo's serial messages (G4): one sent to the newsletter's confirmed subscribers
three days ago, with its results, and one draft – so the serial-message pages show
something true on a fresh demo.

The sent one takes the real road: written as a draft by the demo admin, queued by the
serial-message job, sent by the sending loop at that moment (consent, cap and send
window decide as always; without Mailjet the loop puts the messages into the outbox,
and the demo stores them as sent, as its ReConnect history does). Its results are
Mailjet events – sent, opened, clicked – that go through the webhook like real ones.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, time, timedelta

from flask import current_app
from sqlalchemy import BigInteger, String, cast, select, update

from .campaigns import serial, serial_queue
from .campaigns.windows import SendWindows
from .extensions import db
from .messaging import webhook
from .messaging.sending_loop import SendingLoop
from .models import (
    ContactGroup,
    Message,
    SalutationMode,
    SerialMessage,
    SerialState,
    User,
    business_tz,
)
from .newsletters.demo import GROUP_NAME

DAYS_AGO = 3
SEND_HOUR = 10
OPENED, CLICKED = 0.45, 0.3  # of the sent; of the opened
PROVIDER_IDS = 700_000_000_000  # + our id: the demo's stand-in for Mailjet's message ids
SENT = serial.Draft(
    name="Frühjahrsneuheiten",
    target="",
    company_id=None,
    salutation=SalutationMode.FORMAL,
    subject="Neu im Sortiment: unsere Frühjahrsneuheiten",
    body=(
        "das Frühjahr ist da – und mit ihm viele neue Produkte in unserem Shop.\n\n"
        "Schauen Sie vorbei: {{var:shop_link}}\n\n"
        "Herzliche Grüße\nIhr Team"
    ),
)
DRAFT = serial.Draft(
    name="Sommerangebote",
    target="",
    company_id=None,
    salutation=SalutationMode.INFORMAL,
    subject="Unsere Sommerangebote",
    body="im Juli gibt es zehn Prozent auf das ganze Sortiment.\n\n{{var:shop_link}}",
)


def seed_serial_messages(now: datetime, seed: int = 42) -> dict[str, int]:
    """Write (once) the sent serial message and the draft; the sent one's results."""
    group = db.session.scalar(select(ContactGroup).where(ContactGroup.name == GROUP_NAME))
    if group is None or db.session.scalar(
        select(SerialMessage.id).where(SerialMessage.group_id == group.id).limit(1)
    ):
        return {}
    admin = db.session.scalar(select(User).where(User.role == "admin").order_by(User.id))
    company_id = group.newsletter.company_id
    target = f"newsletter:{group.id}"
    day = now.astimezone(business_tz()).date() - timedelta(days=DAYS_AGO)
    at = SendWindows.load().next_open(datetime.combine(day, time(SEND_HOUR), business_tz()))
    at = at.astimezone(UTC)
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        sent = serial.save_draft(_for(SENT, target, company_id), admin)
        serial.save_draft(_for(DRAFT, target, company_id), admin)
        sent.created_at = at - timedelta(days=1)
        sent.state = SerialState.QUEUEING
        db.session.commit()
        serial_queue.queue_messages(sent.id, at)
    SendingLoop(current_app._get_current_object(), now=lambda: at).run(once=True)
    ids = _stored_as_sent(sent.id, at)
    _events(ids, at, random.Random(seed))
    found = serial.results(db.session.get(SerialMessage, sent.id))
    return {"sent": found.sent, "opened": found.opened, "clicked": found.clicked}


def _for(draft: serial.Draft, target: str, company_id: int | None) -> serial.Draft:
    values = {f: getattr(draft, f) for f in draft.__dataclass_fields__}
    return serial.Draft(**{**values, "target": target, "company_id": company_id})


def _stored_as_sent(serial_id: int, at: datetime) -> list[int]:
    """The messages the loop put into the outbox, stored as sent through Mailjet."""
    ids = list(
        db.session.scalars(
            select(Message.id).where(
                Message.serial_message_id == serial_id, Message.state == "outbox"
            )
        )
    )
    db.session.execute(
        update(Message)
        .where(Message.id.in_(ids))
        .values(
            state="sent",
            sent_at=at,
            provider_id=cast(cast(Message.id, BigInteger) + PROVIDER_IDS, String),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return ids


def _events(ids: list[int], at: datetime, rnd: random.Random) -> None:
    """Mailjet's events for the sent messages, received and processed by the webhook."""
    events = []
    for message_id in ids:
        events.append(_event(message_id, "sent", at + timedelta(seconds=rnd.randint(1, 90))))
        if rnd.random() >= OPENED:
            continue
        opened = at + timedelta(minutes=rnd.randint(5, 2 * 24 * 60))
        events.append(_event(message_id, "open", opened))
        if rnd.random() < CLICKED:
            clicked = opened + timedelta(minutes=rnd.randint(1, 30))
            events.append(_event(message_id, "click", clicked, url="https://shop.example/neu"))
    webhook.receive(json.dumps(events).encode(), now=at + timedelta(days=DAYS_AGO - 1))
    db.session.commit()
    webhook.process_posts()


def _event(message_id: int, kind: str, at: datetime, **fields) -> dict:
    return {
        "event": kind,
        "time": int(at.timestamp()),
        "MessageID": message_id + PROVIDER_IDS,
        "CustomID": str(message_id),
        **fields,
    }

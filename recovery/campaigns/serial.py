"""Serial messages to a group or a newsletter's confirmed subscribers (PRODUCT.md G4).

Draft → preview for three real recipients → test send to oneself → scheduled or sent
now. "Send" is the ``serial message`` job (``serial_queue.py``): it queues one
marketing ``Message`` (purpose ``newsletter``) per recipient for the next send window,
a chunk per transaction, resumable, never a second message for a recipient. The
messages then take the road of every marketing message: the sending loop checks
consent and address right before sending, holds what the marketing cap forbids (R7)
until the cap and a send window allow, and cancels a message whose customer left the
group or the newsletter since (:func:`why_not`). Every message carries the
unsubscribe link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, select, update
from sqlalchemy.orm import aliased

from ..extensions import db
from ..jobs import enqueue
from ..messaging import consent, outbox, placeholders
from ..messaging.cap import Automatic, register_automatic
from ..messaging.preview import TemplatePreview, filled_template
from ..messaging.salutation import Addressee, salutation
from ..messaging.variables import SAMPLE_VARIABLES
from ..models import (
    CONTACT_SOURCE,
    Company,
    ContactGroup,
    Customer,
    DoNotContact,
    GroupMember,
    Message,
    MessagePurpose,
    Newsletter,
    NewsletterSubscription,
    SalutationMode,
    SerialMessage,
    SerialState,
    SerialTarget,
    User,
    WebhookEvent,
)
from ..models.bulk import among
from ..models.message import Channel
from .windows import SendWindows

JOB_KIND = "serial message"
# The variable a template or a body uses for the salutation ("Sehr geehrte Frau Schäfer").
SALUTATION_VARIABLE = "anrede"


class SerialError(Exception):
    """The serial message cannot be saved or sent; the text says why, for the user."""


# -- drafts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """What the form gives: ``target`` is "group:<id>" or "newsletter:<id>"."""

    name: str
    target: str
    company_id: int | None
    salutation: str
    template_id: int | None = None
    subject: str = ""
    body: str = ""


def targets() -> list[tuple[str, str]]:
    """The form's choices: every group, and every group's newsletter."""
    groups = db.session.scalars(select(ContactGroup).order_by(ContactGroup.name)).all()
    newsletters = db.session.scalars(select(Newsletter).order_by(Newsletter.name)).all()
    return [(f"group:{g.id}", _("Group: %(name)s", name=g.name)) for g in groups] + [
        (
            f"newsletter:{n.group_id}",
            _("Newsletter (confirmed subscribers): %(name)s", name=n.name),
        )
        for n in newsletters
    ]


def save_draft(draft: Draft, user: User, serial: SerialMessage | None = None) -> SerialMessage:
    """Create or change a draft; :class:`SerialError` naming the field, nothing changed."""
    if serial is not None and serial.state != SerialState.DRAFT:
        raise SerialError(_("Only a draft can be changed."))
    name = draft.name.strip()
    if not name:
        raise SerialError(_("Name: please enter a name."))
    target, group_id = _target(draft.target)
    company = db.session.get(Company, draft.company_id) if draft.company_id else None
    if company is None or (user.company_id is not None and company.id != user.company_id):
        raise SerialError(_("Sender: choose the company the message is sent from."))
    if not company.sender_email:
        raise SerialError(_("%(company)s has no sender address set.", company=company.name))
    if draft.salutation not in tuple(SalutationMode):
        raise SerialError(_("Salutation: choose one of the options."))
    subject, body = draft.subject.strip(), draft.body.strip()
    if draft.template_id is None and not (subject and body):
        raise SerialError(_("Text: give a Mailjet template ID, or a subject and a text."))
    if draft.template_id is not None and (subject or body):
        raise SerialError(_("Text: give either a Mailjet template ID or a subject and a text."))
    serial = serial or SerialMessage(created_by_id=user.id, state=SerialState.DRAFT)
    serial.name, serial.target, serial.group_id = name[:200], target, group_id
    serial.company_id, serial.salutation = company.id, draft.salutation
    serial.template_id = draft.template_id
    serial.subject, serial.body = subject[:500] or None, body or None
    db.session.add(serial)
    db.session.flush()
    return serial


def _target(value: str) -> tuple[str, int]:
    kind, _sep, raw = (value or "").partition(":")
    group = db.session.get(ContactGroup, int(raw)) if raw.isdigit() else None
    if kind not in tuple(SerialTarget) or group is None:
        raise SerialError(_("Recipients: choose a group or a newsletter."))
    if kind == SerialTarget.NEWSLETTER and group.newsletter is None:
        raise SerialError(_("Recipients: the group %(name)s has no newsletter.", name=group.name))
    return kind, group.id


# -- recipients --------------------------------------------------------------------------


def _newsletter(serial: SerialMessage) -> int | None:
    """The newsletter a message to its subscribers names in its unsubscribe link."""
    newsletter = serial.group.newsletter  # loaded once per chunk, not per recipient
    return newsletter.id if serial.target == SerialTarget.NEWSLETTER and newsletter else None


def members(serial: SerialMessage) -> Select:
    """The recipients' customer ids: the group's members, or its newsletter's confirmed
    subscribers; one table, so ordered by customer along its unique index."""
    if serial.target == SerialTarget.NEWSLETTER:
        newsletter = select(Newsletter.id).where(Newsletter.group_id == serial.group_id)
        return select(NewsletterSubscription.customer_id).where(
            NewsletterSubscription.newsletter_id == newsletter.scalar_subquery(),
            NewsletterSubscription.status == "confirmed",
            NewsletterSubscription.confirmed_at.is_not(None),
        )
    # A sign-up contact who is no WaWi customer has no basis for marketing mail but a
    # confirmed subscription of the group's newsletter: once it left, the group's own
    # messages skip it too (customers keep getting them, under the existing-customer rule).
    contact = aliased(Customer)
    without_basis = select(contact.id).where(
        contact.id == GroupMember.customer_id,
        contact.source == CONTACT_SOURCE,
        ~select(NewsletterSubscription.id)
        .join(Newsletter, Newsletter.id == NewsletterSubscription.newsletter_id)
        .where(
            NewsletterSubscription.customer_id == contact.id,
            Newsletter.group_id == serial.group_id,
            NewsletterSubscription.status == "confirmed",
        )
        .exists(),
    )
    return select(GroupMember.customer_id).where(
        GroupMember.group_id == serial.group_id, ~without_basis.exists()
    )


def in_target(serial: SerialMessage, customer_id) -> Any:
    """The condition "``customer_id`` is a recipient of ``serial`` now"."""
    return customer_id.in_(members(serial))


def count_recipients(serial: SerialMessage) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Customer).where(in_target(serial, Customer.id))
    )


def samples(serial: SerialMessage, n: int = 3) -> list[Customer]:
    """The first ``n`` recipients who can get the message (the preview's three)."""
    reachable = select(Customer).where(
        in_target(serial, Customer.id),
        Customer.email.is_not(None),
        Customer.email != "",
        Customer.marketing_consent.is_not(False),
        ~Customer.id.in_(
            select(DoNotContact.customer_id).where(DoNotContact.channel == Channel.EMAIL)
        ),
    )
    return list(db.session.scalars(reachable.order_by(Customer.id).limit(n)))


# -- one recipient's message -------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    text: str | None
    variables: dict[str, str]


def values_for(
    serial: SerialMessage,
    customer: Customer,
    ctx: outbox.CustomerContext,
    user: User | None,
    links: outbox.UnsubscribeLinks | None = None,
) -> dict[str, str]:
    """The message's variables and the salutation; ``customer`` may be a row with the
    customer's columns (the job) or a customer (preview, test)."""
    values = outbox.variables_for(
        customer, ctx, user, links=links, newsletter_id=_newsletter(serial)
    )
    person = Addressee(
        customer.first_name,
        customer.last_name,
        customer.company_name,
        customer.salutation,
        customer.locale,
    )
    values[SALUTATION_VARIABLE] = salutation(person, serial.salutation)
    return values


def render(serial: SerialMessage, values: dict[str, str], locale: str | None) -> Rendered:
    """Subject and text of a subject-and-text message with the salutation line (unless
    the text places ``{{var:anrede}}`` itself) and the unsubscribe link at the end; a
    template message only carries the variables."""
    if serial.template_id is not None:
        return Rendered(None, None, values)
    body = serial.body or ""
    greeting = values.get(SALUTATION_VARIABLE)
    if greeting and not _places_salutation(body):
        body = f"{greeting},\n\n{body}"
    footer = _unsubscribe_footer(values["abmeldelink"], locale)
    text = f"{placeholders.render(body, values)}\n\n-- \n{footer}"
    return Rendered(placeholders.render(serial.subject or "", values), text, values)


@lru_cache(maxsize=8)
def _places_salutation(body: str) -> bool:
    """Asked once per text, not once per recipient."""
    return SALUTATION_VARIABLE in placeholders.names_used(body)


def _unsubscribe_footer(link: str, locale: str | None) -> str:
    """In the customer's language, like the salutation (no request in the worker)."""
    words = "Unsubscribe:" if (locale or "").startswith("en") else "Abmelden:"
    return f"{words} {link}"


# -- preview and test --------------------------------------------------------------------


def preview(serial: SerialMessage, user: User) -> list[TemplatePreview]:
    """The message as three real recipients would get it (their data, their salutation);
    the unsubscribe link is the sample one, so clicking it unsubscribes nobody."""
    shown = []
    for customer in samples(serial):
        values = values_for(serial, customer, _context(serial, customer, user), user)
        values["abmeldelink"] = SAMPLE_VARIABLES["abmeldelink"]
        shown.append(_filled(serial, customer, values))
    return shown


def _filled(serial: SerialMessage, customer: Customer | None, values) -> TemplatePreview:
    if serial.template_id is not None:
        return filled_template(TemplatePreview("serial", serial.template_id, values, customer))
    rendered = render(serial, values, customer.locale if customer else None)
    return TemplatePreview(
        "serial", 0, values, customer, subject=rendered.subject or "", text=rendered.text or ""
    )


def _context(serial: SerialMessage, customer: Customer, user: User | None):
    """The customer's last order as ``user`` may see it; the shop link is the sender's."""
    last = outbox.customer_context(customer, user.company_id if user else None)
    return outbox.CustomerContext(last.last_order_at, last.last_product_group, serial.company)


def send_test(serial: SerialMessage, user: User) -> Message:
    """The message with the first recipient's data (sample data without one) to the user's
    own address, at once, outside the cap; the caller commits."""
    if not user.email:
        raise SerialError(_("Your account has no email address."))
    customer = next(iter(samples(serial, 1)), None)
    if customer is not None:
        values = values_for(serial, customer, _context(serial, customer, user), user)
    else:
        values = {**SAMPLE_VARIABLES, SALUTATION_VARIABLE: "Sehr geehrte Frau Mustermann"}
    rendered = render(serial, values, customer.locale if customer else None)
    company = serial.company
    message = Message(
        company_id=company.id,
        channel=Channel.EMAIL,
        purpose=MessagePurpose.NEWSLETTER,
        marketing=False,
        template_kind="serial" if serial.template_id else None,
        template_id=serial.template_id,
        to_address=user.email,
        to_name=user.name,
        from_address=company.sender_email,
        from_name=company.sender_name or company.name,
        subject=_("[Test] %(subject)s", subject=rendered.subject) if rendered.subject else None,
        body=rendered.text,
        variables=rendered.variables,
        created_by_id=user.id,
    )
    db.session.add(message)
    db.session.flush()
    return message


def _check_unsubscribe_link(serial: SerialMessage, user: User) -> None:
    """A template must show the unsubscribe link ({{var:abmeldelink}}); checked with the
    template fetched from Mailjet (offline nothing leaves the app, nothing to check)."""
    if serial.template_id is None or outbox.offline():
        return
    values = {**SAMPLE_VARIABLES, SALUTATION_VARIABLE: ""}
    filled = filled_template(TemplatePreview("serial", serial.template_id, values, None))
    if filled.error:
        raise SerialError(filled.error)
    link = SAMPLE_VARIABLES["abmeldelink"]
    if link not in filled.html and link not in filled.text:
        raise SerialError(
            _(
                "Mailjet template %(id)s has no unsubscribe link: add {{var:abmeldelink}}.",
                id=serial.template_id,
            )
        )


# -- schedule and send -------------------------------------------------------------------


def schedule(serial: SerialMessage, at: datetime, user: User, now: datetime) -> None:
    """Send at ``at`` (a future moment); the caller commits."""
    _ready(serial, user)
    if at <= now:
        raise SerialError(_("Date and time: choose a moment in the future."))
    serial.state, serial.scheduled_for = SerialState.SCHEDULED, at


def unschedule(serial: SerialMessage) -> None:
    if serial.state != SerialState.SCHEDULED:
        raise SerialError(_("Only a scheduled serial message can be taken back."))
    serial.state, serial.scheduled_for = SerialState.DRAFT, None


def send_now(serial: SerialMessage, user: User) -> None:
    """Start the job that queues the messages; the caller commits."""
    _ready(serial, user)
    _start(serial, user.id)


def _ready(serial: SerialMessage, user: User) -> None:
    if serial.state != SerialState.DRAFT:
        raise SerialError(_("This serial message is no longer a draft."))
    if count_recipients(serial) == 0:
        raise SerialError(_("The serial message has no recipients."))
    _check_unsubscribe_link(serial, user)


def _start(serial: SerialMessage, user_id: int | None) -> None:
    serial.state = SerialState.QUEUEING
    serial.job_id = enqueue(JOB_KIND, {"serial_message_id": serial.id}, user_id).id


def start_due(now: datetime) -> int:
    """Start every scheduled serial message whose time has come; the conditional update
    lets one worker start each, however many run this."""
    started = 0
    due = db.session.scalars(
        select(SerialMessage.id).where(
            SerialMessage.state == SerialState.SCHEDULED, SerialMessage.scheduled_for <= now
        )
    ).all()
    for serial_id in due:
        claimed = db.session.execute(
            update(SerialMessage)
            .where(SerialMessage.id == serial_id, SerialMessage.state == SerialState.SCHEDULED)
            .values(state=SerialState.QUEUEING)
        ).rowcount
        if claimed:
            serial = db.session.get(SerialMessage, serial_id)
            _start(serial, serial.created_by_id)
            started += 1
        db.session.commit()
    return started


def skip_label(key: str) -> str:
    """The words for a skip reason (a do-not-contact reason, no address, no consent)."""
    if key == "no_email":
        return _("no email address")
    if key == "no_consent":
        return _("no marketing consent")
    return str(consent.DNC_TEXT.get(key, key))


# -- at send time ------------------------------------------------------------------------


def why_not(messages: list[Message], now: datetime) -> dict[int, str]:
    """A serial message whose customer left the group or the newsletter since it was
    queued is cancelled (the sending loop asks right before sending)."""
    reasons: dict[int, str] = {}
    by_serial: dict[int, list[Message]] = {}
    for message in messages:
        if message.serial_message_id is not None:
            by_serial.setdefault(message.serial_message_id, []).append(message)
    for serial_id, batch in by_serial.items():
        serial = db.session.get(SerialMessage, serial_id)
        ids = [m.customer_id for m in batch]
        still = set(
            db.session.scalars(
                select(Customer.id).where(among(Customer.id, ids), in_target(serial, Customer.id))
            )
        )
        left = (
            _("no longer a confirmed subscriber of the newsletter")
            if serial.target == SerialTarget.NEWSLETTER
            else _("no longer a member of the group")
        )
        reasons.update({m.id: left for m in batch if m.customer_id not in still})
    return reasons


register_automatic(
    [MessagePurpose.NEWSLETTER],
    Automatic(why_not=why_not, next_send=lambda at: SendWindows.load().next_open(at)),
)


# -- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    queued: int  # waiting: for a send window, for the cap, or for the worker
    held: int  # of those, held back by the marketing cap
    sent: int
    cancelled: int
    failed: int
    opened: int
    clicked: int
    unsubscribed: int
    bounced: int


_EVENTS = {"open": "opened", "click": "clicked", "unsub": "unsubscribed", "bounce": "bounced"}


def results(serial: SerialMessage) -> Results:
    """Messages by state, and per Mailjet event kind the messages it was reported for."""
    ours = Message.serial_message_id == serial.id
    states = dict(
        db.session.execute(select(Message.state, func.count()).where(ours).group_by(Message.state))
        .tuples()
        .all()
    )
    held = db.session.scalar(
        select(func.count()).where(ours, Message.state == "queued", Message.error_code == "cap")
    )
    events = dict(
        db.session.execute(
            select(WebhookEvent.event, func.count(func.distinct(WebhookEvent.message_id)))
            .join(Message, and_(Message.id == WebhookEvent.message_id, ours))
            .where(WebhookEvent.event.in_(list(_EVENTS)))
            .group_by(WebhookEvent.event)
        )
        .tuples()
        .all()
    )
    counts = {name: events.get(kind, 0) for kind, name in _EVENTS.items()}
    return Results(
        queued=sum(states.get(s, 0) for s in ("queued", "sending", "unknown")),
        held=held,
        sent=states.get("sent", 0) + states.get("outbox", 0),
        cancelled=states.get("cancelled", 0),
        failed=states.get("failed", 0),
        **counts,
    )

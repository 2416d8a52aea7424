"""The public sign-up with double opt-in and its consent proof (PRODUCT.md G2).

Every accepted post gets the same answer, whatever the address's state: the email tells
the owner (a confirmation link, or "you are already subscribed"). A new consent through
the form – after an unsubscribe too – always goes through the confirmation link: an
address typed by someone else must never start newsletters (docs/newsletters.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..messaging import outbox
from ..models import (
    CONTACT_SOURCE,
    Customer,
    DoNotContact,
    GroupMember,
    GroupMemberChange,
    Message,
    Newsletter,
    NewsletterSubscription,
    SignupAttempt,
    utcnow,
)
from ..models.message import Channel
from ..throttling import wait_seconds
from . import mails, tokens

NEWSLETTER_SOURCE = CONTACT_SOURCE
FORMS = ("page", "embed", "snippet")
SALUTATION_LABELS = {"ms": _l("Ms"), "mr": _l("Mr"), "diverse": _l("Diverse")}
SALUTATIONS = tuple(SALUTATION_LABELS)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The do-not-contact reason a confirmed new consent lifts; the others (bounce, spam
# complaint, the provider's block, a block by hand or in the source system) stay, and
# such an address gets no mail from the form at all.
LIFTED_BY_CONSENT = ("unsubscribed",)
DEFAULT_LIMITS = {"per_client": 10, "per_address": 3, "window_minutes": 60}


class InvalidSignup(Exception):
    """The entries are wrong; ``errors`` maps a field to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


class TooManySignups(Exception):
    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


class ClosedNewsletter(Exception):
    """The newsletter's group is inactive: it takes no new members."""


@dataclass(frozen=True)
class Signup:
    """One post of the form, as typed; ``honeypot`` is the field people never see."""

    email: str
    ip: str
    form: str = "page"
    first_name: str = ""
    last_name: str = ""
    salutation: str = ""
    honeypot: str = ""
    locale: str = "de"


def consent_text(newsletter: Newsletter) -> str:
    """The consent text the form shows (in the current language); stored with the sign-up
    as the version the person saw."""
    merchant = mails.merchant_name(newsletter)
    sentence = (
        _(
            "Yes, I would like to receive the newsletter “%(name)s” from %(merchant)s by "
            "email. I can unsubscribe at any time through the link in every email.",
            name=newsletter.name,
            merchant=merchant,
        )
        if merchant
        else _(
            "Yes, I would like to receive the newsletter “%(name)s” by email. I can "
            "unsubscribe at any time through the link in every email.",
            name=newsletter.name,
        )
    )
    description = (newsletter.description or "").strip()
    return f"{description}\n\n{sentence}" if description else sentence


def normalise(address: str) -> str:
    return address.strip().lower()


def sign_up(newsletter: Newsletter, data: Signup) -> None:
    """Take one post of the form; :class:`InvalidSignup`, :class:`TooManySignups` or
    :class:`ClosedNewsletter` are the only answers that differ, and none depends on the
    address's state."""
    if not newsletter.group.active:
        raise ClosedNewsletter()
    address = normalise(data.email)
    if data.honeypot.strip():
        # A bot filled the field people never see: counted, answered alike, nothing else.
        _attempt(newsletter, data.ip, None)
        db.session.commit()
        return
    if data.form not in FORMS:
        raise ValueError(f"unknown form {data.form!r}")
    _validate(data, address)
    _attempt(newsletter, data.ip, tokens.address_hash(current_app.config["SECRET_KEY"], address))
    db.session.commit()
    customer = _customer(address, data)
    record = _email_block(customer.id)
    if record is not None and record not in LIFTED_BY_CONSENT:
        db.session.commit()  # nothing is sent to an address that bounced or complained
        return
    message = _subscribe(newsletter, customer, data, forced=record is not None)
    db.session.commit()
    if message is not None:
        outbox.deliver_if_offline(message)


def _validate(data: Signup, address: str) -> None:
    errors = {}
    if not address:
        errors["email"] = _("Email address: please enter your email address.")
    elif len(address) > 254 or not EMAIL.match(address):
        errors["email"] = _("Email address: this is not an email address.")
    for name, label in (("first_name", _("First name")), ("last_name", _("Last name"))):
        if len(getattr(data, name).strip()) > 200:
            errors[name] = _("%(field)s: at most 200 characters.", field=label)
    if data.salutation and data.salutation not in SALUTATIONS:
        errors["salutation"] = _("Salutation: please choose one of the list.")
    if errors:
        raise InvalidSignup(errors)


def _limits() -> dict[str, int]:
    return {**DEFAULT_LIMITS, **(current_app.config.get("NEWSLETTER_SIGNUP_LIMITS") or {})}


def _attempt(newsletter: Newsletter, ip: str, address_hash: str | None) -> None:
    """Refuse the post when its client or address is over its limit, else count it."""
    limits = _limits()
    now = utcnow()
    window = timedelta(minutes=limits["window_minutes"])
    checks = [(SignupAttempt.ip == ip, limits["per_client"])]
    if address_hash:
        checks.append((SignupAttempt.address_hash == address_hash, limits["per_address"]))
    for where, limit in checks:
        wait = wait_seconds(SignupAttempt.at, where, limit, window, now)
        if wait:
            raise TooManySignups(wait)
    db.session.add(
        SignupAttempt(newsletter_id=newsletter.id, ip=ip, address_hash=address_hash, at=now)
    )


def find_customer(address: str) -> Customer | None:
    """The customer with this address (any case): a source system's first, else the
    newsletter contact."""
    return db.session.scalars(
        select(Customer)
        .where(func.lower(Customer.email) == address)
        .order_by((Customer.source == NEWSLETTER_SOURCE), Customer.id)
        .limit(1)
    ).first()


def _customer(address: str, data: Signup) -> Customer:
    """The customer with this address, or a new contact that is no WaWi customer."""
    customer = find_customer(address)
    if customer is not None:
        return customer
    contact = Customer(
        source=NEWSLETTER_SOURCE,
        external_id=address[:100],
        email=address,
        first_name=data.first_name.strip() or None,
        last_name=data.last_name.strip() or None,
        locale=data.locale if data.locale in ("de", "en") else "de",
    )
    try:
        with db.session.begin_nested():
            db.session.add(contact)
    except IntegrityError:  # the same address signed up at the same moment
        return find_customer(address) or _raise_again()
    return contact


def _raise_again():
    raise RuntimeError("the newsletter contact vanished right after it was written")


def _email_block(customer_id: int) -> str | None:
    return db.session.scalar(
        select(DoNotContact.reason).where(
            DoNotContact.customer_id == customer_id, DoNotContact.channel == Channel.EMAIL
        )
    )


def _subscribe(
    newsletter: Newsletter, customer: Customer, data: Signup, forced: bool
) -> Message | None:
    """Write or renew the subscription; the confirmation or notice mail to send."""
    sub = db.session.scalar(
        select(NewsletterSubscription).where(
            NewsletterSubscription.newsletter_id == newsletter.id,
            NewsletterSubscription.customer_id == customer.id,
        )
    )
    if sub is not None and sub.status == "confirmed":
        return mails.queue_already_subscribed(sub)
    if sub is None:
        sub = NewsletterSubscription(newsletter_id=newsletter.id, customer_id=customer.id)
        try:
            with db.session.begin_nested():
                _set_proof(sub, newsletter, data)
                db.session.add(sub)
        except IntegrityError:  # the same person posted twice at the same moment
            return None
    else:
        if sub.status == "unsubscribed":
            sub.history = [*(sub.history or []), sub.proof()]
            forced = True
        _set_proof(sub, newsletter, data)
    sub.customer = customer
    sub.newsletter = newsletter
    if newsletter.double_opt_in or forced:
        return mails.queue_confirmation(sub)
    _confirm(sub, data.ip)
    return None


def _set_proof(sub: NewsletterSubscription, newsletter: Newsletter, data: Signup) -> None:
    sub.status = "pending"
    sub.source = "form"
    sub.form = data.form
    sub.text_shown = consent_text(newsletter)
    sub.signup_ip = data.ip[:45]
    sub.signed_up_at = utcnow()
    sub.salutation = data.salutation or None
    sub.confirmed_at = sub.confirm_ip = sub.unsubscribed_at = None


def _confirm(sub: NewsletterSubscription, ip: str) -> None:
    """Confirmed now: the consent lifts an earlier unsubscribe, the person joins the group."""
    now = utcnow()
    sub.status = "confirmed"
    sub.confirmed_at = now
    sub.confirm_ip = ip[:45]
    if sub.salutation in ("ms", "mr") and sub.customer.salutation is None:
        # the form's salutation addresses the person in serial messages too
        sub.customer.salutation = sub.salutation
    db.session.execute(
        delete(DoNotContact).where(
            DoNotContact.customer_id == sub.customer_id,
            DoNotContact.channel == Channel.EMAIL,
            DoNotContact.reason.in_(LIFTED_BY_CONSENT),
        )
    )
    group_id = sub.newsletter.group_id
    member = db.session.scalar(
        select(GroupMember.id).where(
            GroupMember.group_id == group_id, GroupMember.customer_id == sub.customer_id
        )
    )
    if member is None:
        db.session.add(
            GroupMember(group_id=group_id, customer_id=sub.customer_id, source="form", added_at=now)
        )
        db.session.add(
            GroupMemberChange(
                group_id=group_id,
                customer_id=sub.customer_id,
                change="added",
                source="form",
                at=now,
            )
        )


# -- the confirmation link ---------------------------------------------------------------------


class InvalidLink(Exception):
    """Altered, not ours, or its sign-up is gone (expired and deleted, or unsubscribed)."""


class ExpiredLink(Exception):
    """Genuine, but older than the newsletter's time to confirm."""

    def __init__(self, newsletter: Newsletter | None):
        super().__init__()
        self.newsletter = newsletter


def read_link(token: str) -> NewsletterSubscription:
    """The link's subscription; :class:`InvalidLink` or :class:`ExpiredLink`."""
    secret = current_app.config["SECRET_KEY"]
    try:
        data = tokens.confirm_token_subscription(secret, token)
    except tokens.InvalidToken:
        raise InvalidLink() from None
    sub = db.session.get(NewsletterSubscription, data.subscription_id)
    if sub is None or sub.customer_id != _holder(data.customer_id):
        raise InvalidLink()
    try:
        tokens.read_confirm_token(secret, token, sub.newsletter.expire_hours)
    except tokens.ExpiredToken:
        if sub.status != "confirmed":
            raise ExpiredLink(sub.newsletter) from None
    if sub.status == "unsubscribed":
        raise InvalidLink()
    return sub


def _holder(customer_id: int) -> int | None:
    """The customer who holds a link's subscription now: a sign-up contact merged into
    the WaWi customer of its address since (sources/contacts.py) hands it on."""
    customer = db.session.get(Customer, customer_id)
    return (customer.merged_into_id or customer.id) if customer else None


def confirm(sub: NewsletterSubscription, ip: str) -> bool:
    """Confirm a pending sign-up (the page's button); False when it was confirmed before."""
    if sub.status == "confirmed":
        return False
    if not sub.newsletter.group.active:
        raise ClosedNewsletter()
    _confirm(sub, ip)
    try:
        db.session.commit()
    except IntegrityError:  # a second click at the same moment added the member
        db.session.rollback()
        return False
    return True

"""Storing messages before they are sent (M7) and the in-app outbox (M8).

A message is always written to the database first. With Mailjet keys the worker
(``flask recovery worker``, see ``worker.py``) sends it; without keys (demo,
development) it lands in the outbox page instead of the internet, after the same
consent check a real send gets.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Integer, Select, bindparam, func, select

from ..extensions import db
from ..models import Case, Company, Customer, Message, Order, OrderLine, ProductGroup, User, utcnow
from ..models.message import (
    CHANNEL_LABELS,
    CHANNEL_PREFERENCE_LABELS,
    Channel,
    ChannelPreference,
)
from ..models.user import restrict_to_company
from . import channels, consent


class CannotSend(Exception):
    """The message cannot be created; the text says why, for the user."""


@dataclass(frozen=True)
class CustomerContext:
    """What the variables need to know about a customer's history."""

    last_order_at: datetime | None
    last_product_group: str | None
    company: Company | None


def offline() -> bool:
    """True when no Mailjet keys are set: nothing leaves the app."""
    cfg = current_app.config
    return not (cfg.get("MAILJET_API_KEY") and cfg.get("MAILJET_API_SECRET"))


# The product group with the largest share of the (enclosing) order's net revenue.
_MAIN_GROUP = (
    select(ProductGroup.name)
    .select_from(OrderLine)
    .join(OrderLine.product_group)
    .where(OrderLine.order_id == Order.id)
    .group_by(ProductGroup.name)
    .order_by(func.sum(OrderLine.net_amount).desc(), ProductGroup.name)
    .limit(1)
    .scalar_subquery()
)


@lru_cache(maxsize=2)
def _last_order(restricted: bool) -> Select:
    """Built once per restricted or not (the case page asks on every view); the
    customer and the user's company are bind parameters."""
    stmt = select(Order.ordered_at, _MAIN_GROUP, Company).outerjoin(Order.company)
    stmt = stmt.where(
        Order.customer_id == bindparam("customer_id"),
        Order.state.in_(("completed", "open")),
    )
    company = bindparam("company", type_=Integer) if restricted else None
    stmt = restrict_to_company(stmt, Order.company_id, company)
    return stmt.order_by(Order.ordered_at.desc(), Order.id.desc()).limit(1)


def customer_context(customer: Customer, company: int | None = None) -> CustomerContext:
    """Time, main product group and company of the last completed or open order – of
    ``company`` only, if given: a user restricted to a company sees and sends only
    what that company knows of the customer."""
    params = {"customer_id": customer.id, "company": company}
    last = db.session.execute(_last_order(company is not None), params).first()
    if last is None:
        return CustomerContext(None, None, None)
    return CustomerContext(*last)


def customer_contexts(customer_ids: Collection[int]) -> dict[int, CustomerContext]:
    """:func:`customer_context` (unrestricted) for many customers with one statement
    (the worker's batches); every id gets a context."""
    ids = list(set(customer_ids))
    found = dict.fromkeys(ids, CustomerContext(None, None, None))
    if not ids:
        return found
    order = (Order.ordered_at.desc(), Order.id.desc())
    ranked = (
        select(
            Order.id.label("order_id"),
            func.row_number().over(partition_by=Order.customer_id, order_by=order).label("n"),
        )
        .where(Order.customer_id.in_(ids), Order.state.in_(("completed", "open")))
        .subquery()
    )
    rows = db.session.execute(
        select(Order.customer_id, Order.ordered_at, _MAIN_GROUP, Company)
        .outerjoin(Order.company)
        .join(ranked, ranked.c.order_id == Order.id)
        .where(ranked.c.n == 1)
    )
    for customer_id, *context in rows:
        found[customer_id] = CustomerContext(*context)
    return found


class UnsubscribeLinks:
    """Signed unsubscribe URLs; the signer and the URL around the token are made once,
    so a serial message to 100 000 customers does not build them 100 000 times."""

    _PLACEHOLDER = "PLACEHOLDER"

    def __init__(self) -> None:
        from .tokens import UnsubscribeSigner

        self._signer = UnsubscribeSigner(current_app.config["SECRET_KEY"])
        # Built from the URL map, so it works in the worker too, outside any request.
        path = current_app.url_map.bind("localhost").build(
            "public.unsubscribe", {"token": self._PLACEHOLDER}
        )
        url = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path
        self._before, self._after = url.rsplit(self._PLACEHOLDER, 1)

    def url(self, customer_id: int, channel: str, newsletter_id: int | None = None) -> str:
        """``newsletter_id``: the link of a newsletter's message leaves that newsletter."""
        token = self._signer.token(customer_id, channel, newsletter_id=newsletter_id)
        # Tokens are URL-safe (base64 and dots): put in as they are.
        return self._before + token + self._after


def unsubscribe_url(customer: Customer, channel: str) -> str:
    return UnsubscribeLinks().url(customer.id, channel)


def variables_for(
    customer: Customer,
    ctx: CustomerContext,
    user: User | None,
    channel: str = Channel.EMAIL,
    links: UnsubscribeLinks | None = None,
    newsletter_id: int | None = None,
) -> dict[str, str]:
    from .variables import CustomerVars, build_variables

    return build_variables(
        CustomerVars(
            first_name=customer.first_name,
            last_name=customer.last_name,
            company_name=customer.company_name,
            city=customer.city,
            country=customer.country,
            email=customer.email,
            number=customer.number,
            customer_group=customer.customer_group,
            last_order_at=ctx.last_order_at,
            last_product_group=ctx.last_product_group,
        ),
        unsubscribe_url=(links or UnsubscribeLinks()).url(customer.id, channel, newsletter_id),
        shop_link=(ctx.company.shop_url if ctx.company else None) or "",
        sales_person=user.name if user else "",
        as_of=utcnow(),
        locale=customer.locale or "de",
        timezone=current_app.config["BABEL_DEFAULT_TIMEZONE"],
    )


def queue_case_email(case: Case, user: User, template_kind: str) -> Message:
    """Store the standard or voucher email of the company of the last order."""
    customer = case.customer
    ctx = customer_context(customer, user.company_id)
    company = ctx.company
    reason = refusal(customer, company, Channel.EMAIL)
    if reason:
        raise CannotSend(_("No email can be sent: %(reason)s.", reason=reason))
    if company is None:
        raise CannotSend(_("The customer has no order with a company to send from."))
    template_id = (
        company.voucher_template_id if template_kind == "voucher" else company.standard_template_id
    )
    if not template_id:
        raise CannotSend(
            _("%(company)s has no %(kind)s template set.", company=company.name, kind=template_kind)
        )
    return queue_template_email(
        customer, ctx, company, template_id, template_kind, "queue", user, case_id=case.id
    )


def queue_template_email(
    customer: Customer,
    ctx: CustomerContext,
    company: Company | None,
    template_id: int,
    template_kind: str,
    purpose: str,
    user: User | None,
    case_id: int | None = None,
    links: UnsubscribeLinks | None = None,
    flush: bool = True,
) -> Message:
    """Store a marketing email with a Mailjet template; the caller checked consent.

    A worker's batch passes its ``links`` and ``flush=False``: the batch's messages are
    then inserted by one flush (one statement), and get their ids then."""
    if company is None:
        raise CannotSend(_("The customer has no order with a company to send from."))
    if not company.sender_email:
        raise CannotSend(_("%(company)s has no sender address set.", company=company.name))
    message = Message(
        customer_id=customer.id,
        case_id=case_id,
        company_id=company.id,
        channel=Channel.EMAIL,
        purpose=purpose,
        marketing=True,
        template_kind=template_kind,
        template_id=template_id,
        to_address=customer.email,
        to_name=customer.display_name,
        from_address=company.sender_email,
        from_name=company.sender_name or company.name,
        variables=variables_for(customer, ctx, user, links=links),
        created_by_id=user.id if user else None,
    )
    db.session.add(message)
    if flush:
        db.session.flush()
    return message


def queue_offer_request(case: Case, user: User, note: str) -> Message:
    """Email the note, customer number and name to whoever prepares offers."""
    customer = case.customer
    ctx = customer_context(customer, user.company_id)
    to = (ctx.company.offer_email if ctx.company else None) or user.email
    subject = _(
        "Prepare an offer: %(number)s %(name)s",
        number=customer.number or "",
        name=customer.display_name,
    )
    body = "\n".join(
        [
            _("Customer number: %(number)s", number=customer.number or "–"),
            _("Customer: %(name)s", name=customer.display_name),
            _("Requested by: %(user)s", user=user.name),
            "",
            note,
        ]
    )
    message = Message(
        customer_id=customer.id,
        case_id=case.id,
        company_id=ctx.company.id if ctx.company else None,
        channel=Channel.EMAIL,
        purpose="offer",
        marketing=False,
        to_address=to,
        to_name=None,
        from_address=ctx.company.sender_email if ctx.company else None,
        from_name=ctx.company.sender_name if ctx.company else None,
        subject=subject,
        body=body,
        created_by_id=user.id,
    )
    db.session.add(message)
    db.session.flush()
    return message


@dataclass(frozen=True)
class ChannelPlan:
    """The channels to use for one customer, and why each other channel is not used."""

    channels: list[str]
    reasons: dict[str, str]


def plan_channels(
    customer: Customer,
    preference: str,
    marketing: bool = True,
    available: Collection[str] | None = None,
    records: Mapping[str, str | None] | None = None,
) -> ChannelPlan:
    """Which channels a message goes out on for ``preference`` (M4).

    ``email`` / ``sms``: that channel only; ``both``: every usable one;
    ``sms_else_email``: SMS when the customer can get one, otherwise email.
    ``available``: the channels the sender has a text for (all when None); the others
    are not used, with that reason. ``records``: the customer's do-not-contact reasons per
    channel, read already with a list's rows (:func:`consent.record_subquery`).
    """
    if preference not in tuple(ChannelPreference):
        raise ValueError(f"unknown channel preference {preference!r}")
    wanted = {
        ChannelPreference.EMAIL: [Channel.EMAIL],
        ChannelPreference.SMS: [Channel.SMS],
    }.get(preference, [Channel.SMS, Channel.EMAIL])
    if records is None:
        reasons = {c: r for c in wanted if (r := channels.channel(c).blocked(customer, marketing))}
    else:
        reasons = {
            c: r
            for c in wanted
            if (r := channels.channel(c).refuse(customer, records.get(c), marketing))
        }
    if available is not None:
        for c in wanted:
            if c not in available and c not in reasons:
                reasons[c] = _("no text set for this channel")
    usable = [c for c in wanted if c not in reasons]
    if preference == ChannelPreference.SMS_ELSE_EMAIL:
        usable = usable[:1]
    return ChannelPlan(usable, reasons)


def refusal(customer: Customer, company: Company | None, channel: Channel) -> str | None:
    """Why ``channel`` may not carry a win-back message to ``customer`` now, or None:
    the company's channel preference planned (M4), then consent and address (M5)."""
    preference = company.channel_preference if company else ChannelPreference.BOTH
    plan = plan_channels(customer, preference)
    if channel in plan.channels:
        return None
    return plan.reasons.get(channel) or _(
        "%(company)s does not send %(channel)s here (channel preference: %(preference)s)",
        company=company.name if company else "–",
        channel=CHANNEL_LABELS[channel],
        preference=CHANNEL_PREFERENCE_LABELS[ChannelPreference(preference)],
    )


def queue_case_sms(case: Case, user: User, text: str) -> Message:
    """Store a marketing SMS of the company of the last order (else the case's)."""
    customer = case.customer
    ctx = customer_context(customer, user.company_id)
    company = ctx.company or case.company
    reason = refusal(customer, company, Channel.SMS)
    if reason:
        raise CannotSend(_("No SMS can be sent: %(reason)s.", reason=reason))
    return queue_text_sms(customer, ctx, company, text, "queue", user, case_id=case.id)


def queue_text_sms(
    customer: Customer,
    ctx: CustomerContext,
    company: Company | None,
    text: str,
    purpose: str,
    user: User | None,
    case_id: int | None = None,
    links: UnsubscribeLinks | None = None,
    flush: bool = True,
) -> Message:
    """Store a marketing SMS: placeholders filled, unsubscribe link added, E.164 number,
    for the SMS provider the company chose; the caller checked consent. ``links`` and
    ``flush``: as for :func:`queue_template_email`."""
    provider = channels.sms_provider(company.sms_provider if company else None)
    if not offline() and not provider.configured(current_app.config):
        raise CannotSend(str(provider.not_set_up))
    if not (text or "").strip():
        raise CannotSend(_("The SMS text is empty."))
    sender = provider.sender(company) if company else None
    if company is None or not sender:
        name = company.name if company else "–"
        raise CannotSend(_("%(company)s has no SMS sender set.", company=name))
    sms = channels.channel(Channel.SMS)
    values = variables_for(customer, ctx, user, channel=Channel.SMS, links=links)
    body = sms.compose(text, values, customer.locale or "de")
    problem = sms.size_problem(body)
    if problem:
        raise CannotSend(problem)
    message = Message(
        customer_id=customer.id,
        case_id=case_id,
        company_id=company.id,
        channel=Channel.SMS,
        provider=provider.name,
        purpose=purpose,
        marketing=True,
        to_address=sms.address(customer),
        to_name=customer.display_name,
        from_address=sender,
        from_name=sender,
        body=body,
        variables=values,
        created_by_id=user.id if user else None,
    )
    db.session.add(message)
    if flush:
        db.session.flush()
    return message


def put_in_outbox(message: Message) -> None:
    """The offline send: the consent check, then the outbox; the caller commits."""
    customer = message.customer
    reason = (
        consent.blocked_reason(customer, message.channel)
        if message.marketing and customer is not None
        else None
    )
    if reason:
        message.state = "cancelled"
        message.last_error = reason
    else:
        message.state = "outbox"
        message.sent_at = utcnow()


def deliver_if_offline(message: Message) -> None:
    """Without Mailjet keys, put the message into the outbox after the consent check.

    With keys this does nothing: the worker sends the message when it is due.
    """
    if not offline() or message.state != "queued" or message.send_after > utcnow():
        return
    put_in_outbox(message)
    db.session.commit()


class CannotRetry(Exception):
    """Only failed messages can be retried."""


def retry(message: Message) -> None:
    """Put a failed message back into the queue, due now; the caller commits."""
    if message.state != "failed":
        raise CannotRetry(message.state)
    message.state = "queued"
    message.send_after = utcnow()
    message.attempts = 0
    message.unknown_since = None
    message.locked_by = message.locked_until = None
    message.last_error = None
    message.error_code = None

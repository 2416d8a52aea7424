"""The admin's side of a newsletter: its settings, its subscribers with their consent
proof, and the addresses and snippets for the merchant's own site."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import ContactGroup, Newsletter, NewsletterSubscription, User
from .mails import public_url

FORM_FIELDS = ("salutation", "first_name", "last_name")
SUBSCRIPTION_STATUSES = ("pending", "confirmed", "unsubscribed")


@dataclass(frozen=True)
class Settings:
    name: str
    description: str | None
    double_opt_in: bool
    confirm_template_id: int | None
    confirm_subject: str | None
    confirm_text: str | None
    form_fields: dict[str, bool]
    expire_hours: int
    company_id: int | None


def save(group: ContactGroup, settings: Settings) -> Newsletter:
    """Create or change the group's newsletter; its public address stays the same."""
    newsletter = group.newsletter or Newsletter(
        group_id=group.id, public_key=secrets.token_urlsafe(16)
    )
    for name, value in settings.__dict__.items():
        setattr(newsletter, name, value)
    db.session.add(newsletter)
    db.session.commit()
    return newsletter


def visible(user: User) -> Select:
    """The newsletters ``user`` may see: a user restricted to a company sees its own."""
    return user.restrict(select(Newsletter), Newsletter.company_id)


def counts(newsletter_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = db.session.execute(
        select(
            NewsletterSubscription.newsletter_id,
            NewsletterSubscription.status,
            func.count(NewsletterSubscription.id),
        )
        .where(NewsletterSubscription.newsletter_id.in_(newsletter_ids))
        .group_by(NewsletterSubscription.newsletter_id, NewsletterSubscription.status)
    ).all()
    found = {i: dict.fromkeys(SUBSCRIPTION_STATUSES, 0) for i in newsletter_ids}
    for newsletter_id, status, n in rows:
        found[newsletter_id][status] = n
    return found


def subscribers(
    newsletter: Newsletter, status: str | None, page: int, per_page: int
) -> tuple[list[NewsletterSubscription], int]:
    """One page of subscribers, newest sign-up first, with their customers; the total."""
    stmt = select(NewsletterSubscription).where(
        NewsletterSubscription.newsletter_id == newsletter.id
    )
    if status in SUBSCRIPTION_STATUSES:
        stmt = stmt.where(NewsletterSubscription.status == status)
    total = db.session.scalar(stmt.with_only_columns(func.count(NewsletterSubscription.id)))
    rows = db.session.scalars(
        stmt.options(selectinload(NewsletterSubscription.customer))
        .order_by(NewsletterSubscription.signed_up_at.desc(), NewsletterSubscription.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total or 0


@dataclass(frozen=True)
class Embed:
    """The form's addresses: with header and footer, bare (for an iframe), and where the
    plain HTML snippet posts to (our page then asks once more, with its token)."""

    page_url: str
    bare_url: str
    action_url: str


def embed(newsletter: Newsletter) -> Embed:
    key = newsletter.public_key
    return Embed(
        public_url("public.newsletter_form", key=key),
        public_url("public.newsletter_form", key=key, embed="1"),
        public_url("public.newsletter_signup", key=key),
    )

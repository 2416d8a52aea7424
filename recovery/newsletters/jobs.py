"""The recurring clean-up: unconfirmed sign-ups past their newsletter's time are deleted,
with the contacts that only they had made; the rate limit's counts after a day."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, select

from ..extensions import db
from ..jobs.registry import recurring
from ..models import (
    Customer,
    GroupMember,
    Message,
    Newsletter,
    NewsletterSubscription,
    Order,
    SignupAttempt,
    utcnow,
)
from .signup import NEWSLETTER_SOURCE

ATTEMPTS_KEPT = timedelta(days=1)


@recurring("newsletter sign-ups expire", every=300.0)
def expire_signups(now: datetime | None = None) -> int:
    """Delete the pending sign-ups older than their newsletter's ``expire_hours``; the count."""
    now = now or utcnow()
    expired = []
    for newsletter_id, hours in db.session.execute(select(Newsletter.id, Newsletter.expire_hours)):
        expired += db.session.execute(
            select(NewsletterSubscription.id, NewsletterSubscription.customer_id).where(
                NewsletterSubscription.newsletter_id == newsletter_id,
                NewsletterSubscription.status == "pending",
                NewsletterSubscription.signed_up_at < now - timedelta(hours=hours),
            )
        ).all()
    if expired:
        db.session.execute(
            delete(NewsletterSubscription).where(
                NewsletterSubscription.id.in_([row.id for row in expired])
            )
        )
        _delete_lone_contacts({row.customer_id for row in expired})
    db.session.execute(delete(SignupAttempt).where(SignupAttempt.at < now - ATTEMPTS_KEPT))
    db.session.commit()
    return len(expired)


def _delete_lone_contacts(customer_ids: set[int]) -> None:
    """A contact the form made, with no other subscription, group or order, has no
    consent left to keep its data for."""
    kept = [
        exists().where(NewsletterSubscription.customer_id == Customer.id),
        exists().where(GroupMember.customer_id == Customer.id),
        exists().where(Order.customer_id == Customer.id),
    ]
    lone = select(Customer.id).where(
        Customer.id.in_(customer_ids),
        Customer.source == NEWSLETTER_SOURCE,
        and_(*(~k for k in kept)),
    )
    ids = db.session.scalars(lone).all()
    if ids:
        # the confirmation mails went to them; the messages stay without the person
        db.session.execute(
            Message.__table__.update().where(Message.customer_id.in_(ids)).values(customer_id=None)
        )
        db.session.execute(delete(Customer).where(Customer.id.in_(ids)))

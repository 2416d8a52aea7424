"""A newsletter sign-up's contact becomes the WaWi customer of its address (issue 15).

A person who signs up before they are a customer is stored as a contact (source
``newsletter``). When a sync or an import brings a customer with the same address, the
contact is merged into that customer in the same transaction as the batch: its
subscriptions with their consent proof, its group memberships and their history, its
do-not-contact records and its messages move to the customer; the contact stays, marked
``merged_into_id`` and without its address (the customer has it: no group by rule can
write to the person twice), so links in mails sent to it (confirmation, unsubscribe)
lead on.
Nothing is lost and nothing doubles: where both hold a row that exists once per
customer (a subscription of the same newsletter, a membership of the same group, a
do-not-contact record of the same channel, a message of the same serial message), the
customer keeps one – the more recent consent, with the other's proof in its history.
"""

from __future__ import annotations

from sqlalchemy import and_, case, delete, exists, select, text, update
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import (
    CONTACT_SOURCE,
    Customer,
    DoNotContact,
    GroupMember,
    GroupMemberChange,
    Message,
    NewsletterSubscription,
)

ANY_CONTACT = select(Customer.id).where(
    Customer.source == CONTACT_SOURCE, Customer.merged_into_id.is_(None)
)
# The contacts whose address a customer of the staged batch has, and that customer (the
# lowest id when several share the address, as the sign-up's own look-up picks).
_PAIRS = text(
    """
SELECT c.id, (SELECT r.id FROM customer r
              WHERE lower(r.email) = c.email AND r.source <> :contact
                AND r.merged_into_id IS NULL
              ORDER BY r.id LIMIT 1)
FROM customer c
WHERE c.source = :contact AND c.merged_into_id IS NULL
  AND c.email IN (SELECT s.email FROM stage_customer s WHERE s.email IS NOT NULL)
"""
)


def any_contact() -> bool:
    """Whether unmerged contacts exist at all (a sync without any skips the look-up)."""
    return db.session.execute(ANY_CONTACT.limit(1)).first() is not None


def merge_staged() -> int:
    """Merge the contacts whose address a customer in ``stage_customer`` has; returns
    how many were merged. Runs in the caller's transaction."""
    pairs = {c: r for c, r in db.session.execute(_PAIRS, {"contact": CONTACT_SOURCE}) if r}
    if pairs:
        merge(pairs)
    return len(pairs)


def merge(pairs: dict[int, int]) -> None:
    """Merge each contact (key) into its customer (value)."""
    contacts = list(pairs)
    target = case(pairs, value=NewsletterSubscription.customer_id)
    _merge_subscriptions(pairs)
    db.session.execute(
        update(NewsletterSubscription)
        .where(NewsletterSubscription.customer_id.in_(contacts))
        .values(customer_id=target)
        .execution_options(synchronize_session=False)
    )
    _move_members(pairs)
    db.session.execute(
        update(GroupMemberChange)
        .where(GroupMemberChange.customer_id.in_(contacts))
        .values(customer_id=case(pairs, value=GroupMemberChange.customer_id))
        .execution_options(synchronize_session=False)
    )
    _merge_blocks(pairs)
    db.session.execute(
        update(DoNotContact)
        .where(DoNotContact.customer_id.in_(contacts))
        .values(customer_id=case(pairs, value=DoNotContact.customer_id))
        .execution_options(synchronize_session=False)
    )
    _move_messages(pairs)
    _fill_customers(pairs)
    db.session.execute(
        update(Customer)
        .where(Customer.id.in_(contacts))
        .values(merged_into_id=case(pairs, value=Customer.id), email=None)
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()


def _held_by_both(model, key: str, pairs: dict[int, int]) -> list:
    """The contacts' rows of ``model`` whose customer holds one with the same ``key``
    (newsletter, channel), each with the customer's row."""
    theirs = aliased(model)
    return db.session.execute(
        select(model, theirs)
        .join(
            theirs,
            and_(
                getattr(theirs, key) == getattr(model, key),
                theirs.customer_id == case(pairs, value=model.customer_id),
            ),
        )
        .where(model.customer_id.in_(list(pairs)))
    ).all()


def _merge_subscriptions(pairs: dict[int, int]) -> None:
    """Where contact and customer both subscribed to a newsletter, the customer keeps one
    row: the more recent sign-up's consent, the other's proof added to its history."""
    for contact_sub, kept in _held_by_both(NewsletterSubscription, "newsletter_id", pairs):
        older, newer = sorted((contact_sub, kept), key=lambda s: s.signed_up_at)
        history = [*(older.history or []), older.proof(), *(newer.history or [])]
        if newer is contact_sub:
            for name in _CONSENT:
                setattr(kept, name, getattr(contact_sub, name))
        kept.history = history
        db.session.delete(contact_sub)
    db.session.flush()


_CONSENT = (
    "status",
    "source",
    "form",
    "text_shown",
    "signup_ip",
    "signed_up_at",
    "confirm_sent_at",
    "confirmed_at",
    "confirm_ip",
    "unsubscribed_at",
    "salutation",
)


def _move_members(pairs: dict[int, int]) -> None:
    """Memberships move; where the customer is a member already, theirs stays."""
    other = aliased(GroupMember)
    target = case(pairs, value=GroupMember.customer_id)
    db.session.execute(
        delete(GroupMember)
        .where(
            GroupMember.customer_id.in_(list(pairs)),
            exists().where(other.group_id == GroupMember.group_id, other.customer_id == target),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(GroupMember)
        .where(GroupMember.customer_id.in_(list(pairs)))
        .values(customer_id=target)
        .execution_options(synchronize_session=False)
    )


def _merge_blocks(pairs: dict[int, int]) -> None:
    """Where both have a do-not-contact record of a channel, the customer's stays with the
    contact's reasons added to its history (the latest reason is shown)."""
    for contact_record, kept in _held_by_both(DoNotContact, "channel", pairs):
        entries = [*_history(kept), *_history(contact_record)]
        entries.sort(key=lambda e: e["at"])
        latest = entries[-1]
        kept.reason, kept.note, kept.history = latest["reason"], latest["note"], entries
        db.session.delete(contact_record)
    db.session.flush()


def _history(record: DoNotContact) -> list[dict]:
    return record.history or [
        {"reason": record.reason, "note": record.note, "at": record.created_at.isoformat()}
    ]


def _move_messages(pairs: dict[int, int]) -> None:
    """The contact's messages become the customer's; a serial message both got stays
    with the contact (one per serial message and customer)."""
    other = aliased(Message)
    target = case(pairs, value=Message.customer_id)
    db.session.execute(
        update(Message)
        .where(
            Message.customer_id.in_(list(pairs)),
            ~exists().where(
                other.serial_message_id == Message.serial_message_id,
                other.customer_id == target,
            ),
        )
        .values(customer_id=target)
        .execution_options(synchronize_session=False)
    )


def _fill_customers(pairs: dict[int, int]) -> None:
    """What the person gave on the form fills what the source left empty: the
    salutation, the names, and the language the person chose."""
    found = db.session.scalars(select(Customer).where(Customer.id.in_(set(pairs.values()))))
    customers = {c.id: c for c in found}
    for contact in db.session.scalars(select(Customer).where(Customer.id.in_(list(pairs)))):
        customer = customers[pairs[contact.id]]
        for name in ("salutation", "first_name", "last_name"):
            if getattr(customer, name) is None:
                setattr(customer, name, getattr(contact, name))
        if contact.locale != "de" and customer.locale == "de":
            customer.locale = contact.locale
    db.session.flush()

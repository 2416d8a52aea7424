"""Groups as the pages show them: the list with counts and rule summaries, saving a
group (its rules checked, then evaluated), the rules' preview count, a customer's
groups for the case page, the recent changes of a group, and adding every customer of
a queue list by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from ..cases.lists import ListQuery, ordered_rows
from ..extensions import db
from ..formatting import country_name
from ..models import (
    Case,
    Company,
    ContactGroup,
    Customer,
    GroupMember,
    GroupMemberChange,
    Newsletter,
    NewsletterSubscription,
    ProductGroup,
    User,
    utcnow,
)
from .facts import needs_kept_facts, order_facts, refresh_order_facts
from .members import add_by_hand, evaluate, visible_customers
from .rules import RuleError, checked, matching, names, summary


class GroupRefused(ValueError):
    """A group that cannot be saved; the message names what is wrong."""


@dataclass(frozen=True)
class GroupRow:
    id: int
    name: str
    description: str | None
    active: bool
    members: int
    rules: list[str]
    rules_evaluated_at: datetime | None
    newsletter: str | None


def group_rows(user: User, locale: str) -> list[GroupRow]:
    """Every group with its member count (the members the user may see)."""
    counts = dict(
        db.session.execute(
            select(GroupMember.group_id, func.count())
            .join(Customer, Customer.id == GroupMember.customer_id)
            .where(visible_customers(user))
            .group_by(GroupMember.group_id)
        )
        .tuples()
        .all()
    )
    known = names()
    stmt = (
        select(ContactGroup, Newsletter.name)
        .outerjoin(Newsletter, Newsletter.group_id == ContactGroup.id)
        .order_by(ContactGroup.active.desc(), func.lower(ContactGroup.name))
    )
    return [
        GroupRow(
            g.id,
            g.name,
            g.description,
            g.active,
            counts.get(g.id, 0),
            summary(g.rules, known, locale),
            g.rules_evaluated_at,
            newsletter,
        )
        for g, newsletter in db.session.execute(stmt).tuples()
    ]


def checked_rules(rules: list[dict]) -> list[dict]:
    """The rules as stored, or GroupRefused naming the first that cannot be used."""
    try:
        return [checked(rule) for rule in rules]
    except RuleError as exc:
        raise GroupRefused(str(exc)) from None


def preview_count(rules: list[dict], user: User) -> int:
    """How many customers (that the user may see) the rules match now."""
    rules = checked_rules(rules)
    if needs_kept_facts([rules]):
        refresh_order_facts()
        db.session.commit()
    with order_facts(db.session.connection(), [rules], utcnow()) as orders:
        stmt = matching(rules, orders).where(visible_customers(user))
        return int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def save_group(
    group: ContactGroup | None,
    user: User,
    *,
    name: str,
    description: str | None,
    active: bool,
    rules: list[dict],
) -> ContactGroup:
    """Create or change a group, then evaluate its rules; the saved group."""
    name = (name or "").strip()
    if not name:
        raise GroupRefused(_("Give the group a name."))
    if len(name) > 200:
        raise GroupRefused(_("The name is longer than 200 characters."))
    rules = checked_rules(rules)
    # compared here, not in SQL: SQLite's lower() leaves "Ö" as it is
    others = select(ContactGroup.name).where(ContactGroup.id != (group.id if group else None))
    if name.casefold() in {n.casefold() for n in db.session.scalars(others)}:
        raise GroupRefused(_("A group named “%(name)s” exists already.", name=name))
    if group is None:
        group = ContactGroup(created_by_id=user.id)
        db.session.add(group)
    group.name = name
    group.description = (description or "").strip() or None
    group.active = active
    group.rules = rules
    db.session.commit()
    evaluate([group.id])
    return group


@dataclass(frozen=True)
class CustomerGroup:
    group_id: int
    name: str
    active: bool
    source: str
    added_at: datetime
    newsletter: str | None
    subscription: str | None


def customer_groups(customer_id: int) -> list[CustomerGroup]:
    """The customer's groups, with the group's newsletter and the subscription's state."""
    stmt = (
        select(
            ContactGroup.id,
            ContactGroup.name,
            ContactGroup.active,
            GroupMember.source,
            GroupMember.added_at,
            Newsletter.name,
            NewsletterSubscription.status,
        )
        .join(GroupMember, GroupMember.group_id == ContactGroup.id)
        .outerjoin(Newsletter, Newsletter.group_id == ContactGroup.id)
        .outerjoin(
            NewsletterSubscription,
            (NewsletterSubscription.newsletter_id == Newsletter.id)
            & (NewsletterSubscription.customer_id == customer_id),
        )
        .where(GroupMember.customer_id == customer_id)
        .order_by(func.lower(ContactGroup.name))
    )
    return [CustomerGroup(*row) for row in db.session.execute(stmt)]


def customer_subscriptions_elsewhere(customer_id: int) -> list[tuple[str, str]]:
    """Newsletters the customer subscribed to whose group they are not a member of."""
    member = select(GroupMember.group_id).where(GroupMember.customer_id == customer_id)
    stmt = (
        select(Newsletter.name, NewsletterSubscription.status)
        .join(NewsletterSubscription, NewsletterSubscription.newsletter_id == Newsletter.id)
        .where(
            NewsletterSubscription.customer_id == customer_id, Newsletter.group_id.not_in(member)
        )
        .order_by(Newsletter.name)
    )
    return [tuple(row) for row in db.session.execute(stmt)]


def active_groups() -> list[tuple[int, str]]:
    stmt = (
        select(ContactGroup.id, ContactGroup.name)
        .where(ContactGroup.active)
        .order_by(func.lower(ContactGroup.name))
    )
    return [tuple(row) for row in db.session.execute(stmt)]


def all_groups() -> list[tuple[int, str]]:
    stmt = select(ContactGroup.id, ContactGroup.name).order_by(func.lower(ContactGroup.name))
    return [tuple(row) for row in db.session.execute(stmt)]


@dataclass(frozen=True)
class ChangeRow:
    at: datetime
    change: str
    source: str
    user: str | None
    customer_id: int
    customer: str


def recent_changes(group_id: int, user: User, limit: int = 20) -> list[ChangeRow]:
    """The group's latest membership changes (of customers the user may see)."""
    who = aliased(User)
    stmt = (
        select(GroupMemberChange, who.name, Customer)
        .join(Customer, Customer.id == GroupMemberChange.customer_id)
        .outerjoin(who, who.id == GroupMemberChange.user_id)
        .where(GroupMemberChange.group_id == group_id, visible_customers(user))
        .order_by(GroupMemberChange.at.desc(), GroupMemberChange.id.desc())
        .limit(limit)
    )
    return [
        ChangeRow(c.at, c.change, c.source, name, customer.id, customer.display_name)
        for c, name, customer in db.session.execute(stmt).tuples()
    ]


@dataclass(frozen=True)
class EditorChoices:
    """(value, text) pairs for the editor's lists."""

    customer_groups: list[tuple[str, str]]
    countries: list[tuple[str, str]]
    product_groups: list[tuple[int, str]]
    companies: list[tuple[int, str]]


def editor_choices(user: User, locale: str) -> EditorChoices:
    """What the rule editor offers: the values the customers and orders hold."""
    groups = select(Customer.customer_group).where(Customer.customer_group.is_not(None))
    countries = select(Customer.country).where(Customer.country.is_not(None))
    return EditorChoices(
        customer_groups=[
            (g, g) for g in db.session.scalars(groups.distinct().order_by(Customer.customer_group))
        ],
        countries=sorted(
            ((c, country_name(c, locale)) for c in db.session.scalars(countries.distinct())),
            key=lambda pair: pair[1],
        ),
        product_groups=[
            tuple(r)
            for r in db.session.execute(
                select(ProductGroup.id, ProductGroup.name).order_by(ProductGroup.name)
            )
        ],
        companies=[
            tuple(r)
            for r in db.session.execute(
                user.restrict(select(Company.id, Company.name), Company.id).order_by(Company.name)
            )
        ],
    )


def group_rows_for(group: ContactGroup, locale: str) -> list[str]:
    """The summary of one group's rules."""
    return summary(group.rules, names(), locale)


# Customers added per transaction (and per IN list: SQLite and PostgreSQL cap parameters).
ADD_CHUNK = 5_000


def add_list_by_hand(group_id: int, query: ListQuery, user: User) -> tuple[int, int]:
    """Add every customer of a queue list – all its pages, as filtered, as the user sees
    it – by hand; (added, already members). :class:`MembershipRefused` for an inactive
    group (nothing added)."""
    cases = db.session.scalars(ordered_rows(query, user, Case.customer_id)).all()
    ids = list(dict.fromkeys(cases))
    added = present = 0
    for start in range(0, len(ids), ADD_CHUNK):
        new, old = add_by_hand(group_id, ids[start : start + ADD_CHUNK], user)
        added, present = added + new, present + old
    return added, present


def added_text(name: str, added: int, present: int) -> str:
    text = ngettext(
        "%(num)d customer added to the group “%(name)s”.",
        "%(num)d customers added to the group “%(name)s”.",
        added,
        name=name,
    )
    if present:
        text += " " + ngettext(
            "%(num)d was a member already.", "%(num)d were members already.", present
        )
    return text

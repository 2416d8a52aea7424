"""Membership: rules evaluated set-wise in SQL, members added and removed by hand, and
every change recorded in ``group_member_change``.

A rule evaluation finds each group's changes by one full join of the customers its
rules match with its members – the matches that are no members yet join, the rule
members that no longer match leave – into a temporary table; three statements then
record and apply the changes of all groups at once. However many customers and groups
there are, nothing is done per customer, and a round that changes nothing writes
nothing. Members by hand or by a sign-up form are never removed by rules; an inactive
group is not evaluated at all (it takes no new members and keeps the ones it has).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
)

from ..extensions import db
from ..models import ContactGroup, Customer, GroupMember, GroupMemberChange, Order, User
from ..models.types import UTCDateTime, utcnow
from .facts import OrderFacts, needs_kept_facts, order_facts, refresh_order_facts
from .rules import matching

# The changes of one evaluation round, every group's, before they are applied.
DELTA = Table(
    "group_delta",
    MetaData(),
    Column("group_id", Integer, primary_key=True),
    Column("customer_id", Integer, primary_key=True),
    Column("change", String(10)),  # "added" or "removed"
    prefixes=["TEMPORARY"],
)


class MembershipRefused(Exception):
    """A change of membership that is not allowed; the message says why."""


@dataclass(frozen=True)
class Evaluated:
    group_id: int
    added: int
    removed: int


def visible_customers(user: User) -> ColumnElement[bool]:
    """Customers the user may see: a user restricted to a company sees only those who
    bought from it (the restriction applied to their orders)."""
    if user.company_id is None:
        return true()
    return Customer.id.in_(user.restrict(select(Order.customer_id), Order.company_id))


def _locked(group_id: int) -> ContactGroup:
    """The group, its row locked until commit: one evaluation or hand change at a time."""
    stmt = select(ContactGroup).where(ContactGroup.id == group_id).with_for_update()
    return db.session.scalars(stmt).one()


def _find_changes(group: ContactGroup, orders: OrderFacts) -> None:
    """Note in DELTA who joins and who leaves the group: one full join of the customers
    the rules match with the group's members (a hand or form member never leaves)."""
    matched = matching(group.rules, orders).subquery()
    members = (
        select(GroupMember.customer_id, GroupMember.source)
        .where(GroupMember.group_id == group.id)
        .subquery()
    )
    joins = members.c.customer_id.is_(None)
    change = case((joins, literal("added")), else_=literal("removed"))
    found = (
        select(
            literal(group.id),
            func.coalesce(matched.c.id, members.c.customer_id),
            change,
        )
        .select_from(matched.join(members, matched.c.id == members.c.customer_id, full=True))
        .where(or_(joins, and_(matched.c.id.is_(None), members.c.source == "rule")))
    )
    db.session.execute(insert(DELTA).from_select(["group_id", "customer_id", "change"], found))


def _apply_changes(now: datetime) -> dict[int, tuple[int, int]]:
    """Record every change in DELTA, then add and remove the members; per group
    (added, removed)."""
    at = literal(now, UTCDateTime)
    rule = literal("rule")
    db.session.execute(
        insert(GroupMemberChange).from_select(
            ["group_id", "customer_id", "change", "source", "at"],
            select(DELTA.c.group_id, DELTA.c.customer_id, DELTA.c.change, rule, at),
        )
    )
    db.session.execute(
        insert(GroupMember).from_select(
            ["group_id", "customer_id", "source", "added_at"],
            select(DELTA.c.group_id, DELTA.c.customer_id, rule, at).where(
                DELTA.c.change == "added"
            ),
        )
    )
    leaving = exists().where(
        DELTA.c.change == "removed",
        DELTA.c.group_id == GroupMember.group_id,
        DELTA.c.customer_id == GroupMember.customer_id,
    )
    db.session.execute(delete(GroupMember).where(leaving))
    counts = db.session.execute(
        select(DELTA.c.group_id, DELTA.c.change, func.count()).group_by(
            DELTA.c.group_id, DELTA.c.change
        )
    )
    found: dict[int, dict[str, int]] = {}
    for group_id, change, n in counts:
        found.setdefault(group_id, {})[change] = n
    return {g: (c.get("added", 0), c.get("removed", 0)) for g, c in found.items()}


def evaluate(
    group_ids: Iterable[int] | None = None, now: datetime | None = None
) -> list[Evaluated]:
    """Evaluate the rules of the given groups (default: every active group). First the
    kept order facts are brought up to date if a rule reads them
    (facts.refresh_order_facts, its own transaction). Then, in one transaction, the
    revenue is summed once for all groups (facts.order_facts), each group's changes are
    found by one join, then all groups' changes are recorded and applied by three
    statements; the groups' rows stay locked until the end. Inactive groups are left as
    they are. The session is committed before the groups are locked (the facts' refresh
    has its own transaction), so a caller commits or rolls back its own changes first."""
    now = now or utcnow()
    stmt = select(ContactGroup).where(ContactGroup.active).order_by(ContactGroup.id)
    if group_ids is not None:
        stmt = stmt.where(ContactGroup.id.in_(list(group_ids)))
    if needs_kept_facts(db.session.scalars(stmt.with_only_columns(ContactGroup.rules))):
        refresh_order_facts()
    db.session.commit()
    groups = db.session.scalars(stmt.with_for_update()).all()
    if not groups:
        db.session.rollback()
        return []
    connection = db.session.connection()
    with order_facts(connection, [g.rules for g in groups], now) as orders:
        DELTA.drop(connection, checkfirst=True)
        DELTA.create(connection)
        try:
            for group in groups:
                _find_changes(group, orders)
            changed = _apply_changes(now)
        finally:
            DELTA.drop(connection)
    for group in groups:
        group.rules_evaluated_at = now
    db.session.commit()
    return [Evaluated(g.id, *changed.get(g.id, (0, 0))) for g in groups]


def _visible(user: User, customer_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(i) for i in customer_ids})
    if not ids:
        return []
    stmt = select(Customer.id).where(Customer.id.in_(ids), visible_customers(user))
    return list(db.session.scalars(stmt))


def add_by_hand(group_id: int, customer_ids: Iterable[int], user: User) -> tuple[int, int]:
    """Add customers by hand; (added, already members). Only customers the user sees."""
    group = _locked(group_id)
    if not group.active:
        db.session.rollback()
        raise MembershipRefused(
            _("The group “%(name)s” is inactive and takes no new members.", name=group.name)
        )
    ids = _visible(user, customer_ids)
    present = (
        set(
            db.session.scalars(
                select(GroupMember.customer_id).where(
                    GroupMember.group_id == group.id, GroupMember.customer_id.in_(ids)
                )
            )
        )
        if ids
        else set()
    )
    now = utcnow()
    new = [i for i in ids if i not in present]
    for customer_id in new:
        db.session.add(
            GroupMember(
                group_id=group.id,
                customer_id=customer_id,
                source="hand",
                added_at=now,
                added_by_id=user.id,
            )
        )
        db.session.add(
            GroupMemberChange(
                group_id=group.id,
                customer_id=customer_id,
                change="added",
                source="hand",
                user_id=user.id,
                at=now,
            )
        )
    db.session.commit()
    return len(new), len(present)


def remove_by_hand(group_id: int, customer_id: int, user: User) -> bool:
    """Remove one member by hand (whatever made them a member); False if none."""
    _locked(group_id)
    if not _visible(user, [customer_id]):
        db.session.rollback()
        return False
    removed = db.session.execute(
        delete(GroupMember).where(
            GroupMember.group_id == group_id, GroupMember.customer_id == customer_id
        )
    ).rowcount
    if removed:
        db.session.add(
            GroupMemberChange(
                group_id=group_id,
                customer_id=customer_id,
                change="removed",
                source="hand",
                user_id=user.id,
            )
        )
    db.session.commit()
    return bool(removed)

"""Membership: rules evaluated set-wise in SQL, members added and removed by hand, and
every change recorded in ``group_member_change``.

A rule evaluation writes the customers the rules match into a temporary table once,
then adds the matches that are no members yet and removes the rule members that no
longer match – set differences, four statements per group however many customers it
has. Members by hand or by a sign-up form are never removed by rules; an inactive
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
    Table,
    delete,
    exists,
    insert,
    literal,
    select,
    text,
    true,
)

from ..extensions import db
from ..models import ContactGroup, Customer, GroupMember, GroupMemberChange, Order, User
from ..models.types import UTCDateTime, utcnow
from .facts import OrderFacts, order_facts
from .rules import matching

# The customers one group's rules match, filled and emptied per group.
MATCH = Table(
    "group_match",
    MetaData(),
    Column("customer_id", Integer, primary_key=True),
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


def _evaluate(group: ContactGroup, orders: OrderFacts) -> Evaluated:
    """Bring one group's rule members up to date (MATCH must exist and be empty)."""
    connection = db.session.connection()
    connection.execute(insert(MATCH).from_select(["customer_id"], matching(group.rules, orders)))
    if connection.dialect.name == "postgresql":
        connection.execute(text("ANALYZE group_match"))  # the planner learns its size
    at = literal(orders.now, UTCDateTime)
    member = exists().where(
        GroupMember.group_id == group.id, GroupMember.customer_id == MATCH.c.customer_id
    )
    new = select(literal(group.id), MATCH.c.customer_id, literal("rule"), at).where(~member)
    change = ["group_id", "customer_id", "source", "at"]
    connection.execute(
        insert(GroupMemberChange).from_select(
            [*change, "change"], new.add_columns(literal("added"))
        )
    )
    added = connection.execute(
        insert(GroupMember).from_select(["group_id", "customer_id", "source", "added_at"], new),
        execution_options={"preserve_rowcount": True},  # psycopg's INSERT … SELECT count
    ).rowcount
    gone = (
        GroupMember.group_id == group.id,
        GroupMember.source == "rule",
        ~exists().where(MATCH.c.customer_id == GroupMember.customer_id),
    )
    leaving = select(literal(group.id), GroupMember.customer_id, literal("rule"), at).where(*gone)
    connection.execute(
        insert(GroupMemberChange).from_select(
            [*change, "change"], leaving.add_columns(literal("removed"))
        )
    )
    removed = connection.execute(delete(GroupMember).where(*gone)).rowcount
    connection.execute(delete(MATCH))
    group.rules_evaluated_at = orders.now
    return Evaluated(group.id, added, removed)


def evaluate(
    group_ids: Iterable[int] | None = None, now: datetime | None = None
) -> list[Evaluated]:
    """Evaluate the rules of the given groups (default: every active group), in one
    transaction: the orders are summed once for all of them (facts.order_facts), the
    groups' rows stay locked until the end. Inactive groups are left as they are."""
    now = now or utcnow()
    stmt = (
        select(ContactGroup).where(ContactGroup.active).order_by(ContactGroup.id).with_for_update()
    )
    if group_ids is not None:
        stmt = stmt.where(ContactGroup.id.in_(list(group_ids)))
    groups = db.session.scalars(stmt).all()
    if not groups:
        db.session.rollback()
        return []
    connection = db.session.connection()
    with order_facts(connection, [g.rules for g in groups], now) as orders:
        MATCH.drop(connection, checkfirst=True)
        MATCH.create(connection)
        try:
            results = [_evaluate(group, orders) for group in groups]
        finally:
            MATCH.drop(connection)
    db.session.commit()
    return results


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

"""Deleting a customer or a group deletes its members and their history – by the delete
triggers of models/group_cascade.py, on both databases, in a database built by
create_all (the tests) and in one built by the migrations."""

from __future__ import annotations

from datetime import timedelta

from flask_migrate import upgrade
from sqlalchemy import create_engine, delete, func, select, text

from recovery.audience.members import add_by_hand, evaluate
from recovery.models import ContactGroup, Customer, GroupMember, GroupMemberChange, utcnow
from tests.conftest import MIGRATIONS, make_user


def _rows(db, model, **where) -> set[tuple[int, int]]:
    stmt = select(model.group_id, model.customer_id)
    for column, value in where.items():
        stmt = stmt.where(getattr(model, column) == value)
    return set(db.session.execute(stmt).tuples())


def _two_groups_three_customers(db, build):
    customers = [build.customer(country="AT") for _ in range(3)]
    rule = ContactGroup(name="Österreich", rules=[{"type": "country", "values": ["AT"]}])
    hand = ContactGroup(name="Von Hand", rules=[])
    db.session.add_all([rule, hand])
    db.session.commit()
    evaluate()
    add_by_hand(hand.id, [c.id for c in customers], make_user("admin"))
    return customers, rule, hand


def test_deleting_customers_deletes_their_memberships_and_history(db, build):
    customers, rule, hand = _two_groups_three_customers(db, build)
    assert len(_rows(db, GroupMember)) == 6
    assert len(_rows(db, GroupMemberChange)) == 6
    db.session.delete(customers[0])  # one by the ORM
    db.session.commit()
    gone = {customers[0].id}
    # and two by one bulk statement (what deleting expired sign-ups does)
    db.session.execute(delete(Customer).where(Customer.id.in_([customers[1].id])))
    db.session.commit()
    gone.add(customers[1].id)
    left = {(rule.id, customers[2].id), (hand.id, customers[2].id)}
    assert _rows(db, GroupMember) == left
    assert _rows(db, GroupMemberChange) == left
    assert not gone & {c for _, c in _rows(db, GroupMember)}


def test_deleting_a_group_deletes_its_members_and_history_only(db, build):
    customers, rule, hand = _two_groups_three_customers(db, build)
    db.session.delete(hand)
    db.session.commit()
    assert _rows(db, GroupMember) == {(rule.id, c.id) for c in customers}
    assert _rows(db, GroupMemberChange) == {(rule.id, c.id) for c in customers}
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 3


def test_a_database_built_by_the_migrations_cascades_too(migration_db):
    upgrade(directory=MIGRATIONS)
    engine = create_engine(migration_db)
    now = utcnow().replace(tzinfo=None) - timedelta(days=1)
    with engine.begin() as conn:
        for n in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO customer (id, source, external_id, locale, marketing_consent,"
                    " created_at, updated_at) VALUES (:n, 'test', :ext, 'de', false, :now, :now)"
                ),
                {"n": n, "ext": f"C{n}", "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO contact_group (id, name, active, created_at, updated_at)"
                    " VALUES (:n, :name, true, :now, :now)"
                ),
                {"n": n, "name": f"G{n}", "now": now},
            )
        for g in (1, 2):
            for c in (1, 2):
                params = {"g": g, "c": c, "now": now}
                conn.execute(
                    text(
                        "INSERT INTO group_member (group_id, customer_id, source, added_at)"
                        " VALUES (:g, :c, 'hand', :now)"
                    ),
                    params,
                )
                conn.execute(
                    text(
                        "INSERT INTO group_member_change"
                        " (group_id, customer_id, change, source, at)"
                        " VALUES (:g, :c, 'added', 'hand', :now)"
                    ),
                    params,
                )
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM customer WHERE id = 1"))
        conn.execute(text("DELETE FROM contact_group WHERE id = 1"))
    with engine.connect() as conn:
        for table in ("group_member", "group_member_change"):
            rows = conn.execute(text(f"SELECT group_id, customer_id FROM {table}")).all()
            assert [tuple(r) for r in rows] == [(2, 2)], table
    engine.dispose()

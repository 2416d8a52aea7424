"""A case's references (customer, product group, company, users, recovering order) are
kept by the triggers of models/case_keys.py as the foreign keys kept them: on PostgreSQL
a reference to a row that does not exist is refused, on insert (one row, or many in one
statement) and on update; deleting a customer deletes its cases, deleting an order
empties the reference, deleting a referenced product group, company or user is refused.
SQLite never enforced the keys; it gets the cascade and the SET NULL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from recovery.models import Case, CaseEvent, Company, Customer, Order, ProductGroup, User, utcnow
from recovery.models.case_keys import REFERENCES, key_name
from tests.conftest import MIGRATIONS, make_user

MISSING = 999_999


def _postgres_only(db) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce the references (it never did)")


def _setup(build):
    """A customer with an order and a case that uses every reference."""
    company = build.company()
    customer = build.customer()
    order = build.order(customer, utcnow() - timedelta(days=3), company=company)
    user = make_user("sales")
    group = order.lines[0].product_group_id
    case = build.case(
        customer,
        company,
        key=f"overdue:{group}",
        kind="overdue",
        product_group_id=group,
        assigned_user_id=user.id,
        claimed_by_id=user.id,
        recovered_order_id=order.id,
    )
    return case


def _refused(db, statement, column: str, parent: str) -> None:
    with pytest.raises(IntegrityError) as refused:
        db.session.execute(statement)
        db.session.flush()
    db.session.rollback()
    assert key_name(column, parent) in str(refused.value)
    assert refused.value.orig.sqlstate == "23503"  # foreign_key_violation, as the key's


@pytest.mark.parametrize(("column", "parent", "_action"), REFERENCES)
def test_an_insert_naming_a_missing_row_is_refused(build, db, column, parent, _action):
    _postgres_only(db)
    case = _setup(build)
    values = {
        "customer_id": case.customer_id,
        "key": "decline",
        "kind": "decline",
        "status": "closed",
        "reason_params": {},
        "opened_at": utcnow(),
        "updated_at": utcnow(),
    }
    _refused(db, insert(Case).values({**values, column: MISSING}), column, parent)
    # many rows in one statement (as the analysis writes), one of them missing its row
    good = {**values, column: getattr(case, column), "key": "overdue:0", "status": "new"}
    _refused(db, insert(Case).values([good, {**values, column: MISSING}]), column, parent)
    # the same statements with existing rows go through
    db.session.execute(insert(Case).values([good, {**good, "key": "overdue:-1"}]))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Case)) == 3


@pytest.mark.parametrize(("column", "parent", "_action"), REFERENCES)
def test_an_update_to_a_missing_row_is_refused(build, db, column, parent, _action):
    _postgres_only(db)
    case = _setup(build)
    _refused(db, update(Case).where(Case.id == case.id).values({column: MISSING}), column, parent)
    # an update that leaves the references as they are, and one that empties one
    db.session.execute(update(Case).where(Case.id == case.id).values(reason_text="neu"))
    if column != "customer_id":
        db.session.execute(update(Case).where(Case.id == case.id).values({column: None}))
    db.session.commit()


def test_deleting_a_customer_deletes_its_cases(build, db):
    case = _setup(build)
    other = build.case(build.customer())
    db.session.add(CaseEvent(case_id=case.id, kind="note", text="angerufen"))
    db.session.commit()
    customer = db.session.get(Customer, case.customer_id)
    db.session.execute(delete(Order).where(Order.customer_id == customer.id))
    db.session.delete(customer)
    db.session.commit()
    assert db.session.scalars(select(Case.id)).all() == [other.id]
    if db.engine.dialect.name == "postgresql":  # by case_event's key, which SQLite ignores
        assert db.session.scalar(select(func.count()).select_from(CaseEvent)) == 0


def test_deleting_an_order_empties_the_reference(build, db):
    case = _setup(build)
    order_id = case.recovered_order_id
    db.session.execute(delete(Order).where(Order.id == order_id))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Case, case.id).recovered_order_id is None


@pytest.mark.parametrize(
    ("model", "column", "parent"),
    [
        (ProductGroup, "product_group_id", "product_group"),
        (Company, "company_id", "company"),
        (User, "assigned_user_id", "user_account"),
    ],
)
def test_deleting_a_referenced_row_is_refused(build, db, model, column, parent):
    _postgres_only(db)
    case = _setup(build)
    referenced = getattr(case, column)
    if model is not User:
        db.session.execute(delete(Order))  # the order and its lines refer to them too
        db.session.commit()
    else:
        db.session.execute(update(Case).values(claimed_by_id=None))
        db.session.commit()
    _refused(db, delete(model).where(model.id == referenced), column, parent)
    _refused(db, update(model).where(model.id == referenced).values(id=MISSING), column, parent)
    # once no case refers to it, it goes
    db.session.execute(update(Case).values({column: None}))
    db.session.execute(delete(model).where(model.id == referenced))
    db.session.commit()


def test_an_insert_locks_the_customer_it_names(build, db):
    """As a foreign key's check: until the insert commits, the customer cannot be
    deleted (else its case would outlive it)."""
    _postgres_only(db)
    customer = build.customer()
    with db.engine.connect() as writer, db.engine.connect() as deleter:
        writer.execute(
            insert(Case).values(
                customer_id=customer.id,
                key="decline",
                kind="decline",
                status="new",
                reason_params={},
                opened_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        deleter.execute(text("SET lock_timeout = '200ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            deleter.execute(delete(Customer).where(Customer.id == customer.id))
        deleter.rollback()
        writer.commit()
        deleter.execute(delete(Customer).where(Customer.id == customer.id))
        deleter.commit()
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_migrated_database_has_the_triggers_and_no_keys(migration_db):
    upgrade(directory=MIGRATIONS)
    engine = create_engine(migration_db)
    with engine.begin() as conn:
        conn.execute(Customer.__table__.insert(), {"id": 1, "source": "x", "external_id": "1"})
        conn.execute(
            Case.__table__.insert(), {"customer_id": 1, "key": "decline", "kind": "decline"}
        )
        conn.execute(delete(Customer).where(Customer.id == 1))
        assert conn.scalar(select(func.count()).select_from(Case)) == 0
    if engine.dialect.name == "postgresql":
        refused = pytest.raises(IntegrityError, match=key_name("customer_id", "customer"))
        with refused, engine.begin() as conn:
            conn.execute(
                Case.__table__.insert(),
                {"customer_id": MISSING, "key": "decline", "kind": "decline"},
            )
        with engine.connect() as conn:
            keys = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_constraint"
                    " WHERE conrelid = 'recovery_case'::regclass AND contype = 'f'"
                )
            )
        assert keys == 0
    engine.dispose()

"""What each case copies of its customer (models/copies.py: search text, sort keys)
follows the customer, and the queue's search and sorts work by it."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text

from recovery.models import Case, Customer, utcnow
from recovery.models.copies import SORT_SEPARATOR
from tests.conftest import MIGRATIONS


def _texts(conn) -> dict[int, str | None]:
    return dict(conn.execute(select(Case.id, Case.search_text)).tuples().all())


def _copies(conn) -> dict[int, tuple]:
    rows = conn.execute(
        select(Case.id, Case.search_text, Case.sort_name, Case.customer_number, Case.customer_group)
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def _expected(conn) -> dict[int, tuple]:
    rows = conn.execute(
        select(
            Case.id,
            Customer.number,
            Customer.first_name,
            Customer.last_name,
            Customer.company_name,
            Customer.email,
            Customer.customer_group,
        ).join(Customer, Customer.id == Case.customer_id)
    )
    return {
        id_: (
            "\n".join((number or "", " ".join(p or "" for p in name), email or "")).lower(),
            SORT_SEPARATOR.join(
                (name[1] if name[1] is not None else name[2] or "", name[0] or "", name[2] or "")
            ).lower(),
            number,
            group,
        )
        for id_, number, *name, email, group in rows
    }


def _assert_exact(db) -> None:
    db.session.expire_all()
    with db.engine.connect() as conn:
        assert _copies(conn) == _expected(conn)


def test_search_text_follows_the_customer(build, db):
    erika = build.customer(first_name="Erika", last_name="Müller", company_name="Gärtnerei AG")
    hans = build.customer(first_name="Hans", last_name="Huber", email=None)
    first, second = build.case(erika), build.case(erika, key="overdue:1", kind="overdue")
    other = build.case(hans)
    _assert_exact(db)
    with db.engine.connect() as conn:
        assert _texts(conn)[other.id] == f"{hans.number.lower()}\nhans huber \n"

    erika.last_name = "Schmidt"  # a rename through the ORM rewrites both her cases
    db.session.commit()
    _assert_exact(db)
    with db.engine.connect() as conn:
        assert "schmidt" in _texts(conn)[first.id] and "müller" not in _texts(conn)[second.id]

    # a bulk change as the sync writes it, and a change that touches no searched field
    db.session.execute(Customer.__table__.update().values(email="neu@example.de", city="Bonn"))
    db.session.commit()
    _assert_exact(db)

    # a case moved to another customer takes that customer's text
    merged = build.customer(last_name="Zusammengeführt")
    db.session.execute(
        Case.__table__.update().where(Case.id == other.id).values(customer_id=merged.id)
    )
    db.session.commit()
    _assert_exact(db)


def test_the_list_search_finds_the_renamed_customer(client, login_as, build, db):
    erika = build.customer(first_name="Erika", last_name="Müller")
    case = build.case(erika)
    build.case(build.customer(first_name="Hans", last_name="Huber"))
    login_as("sales")

    def found(q: str) -> bool:
        page = client.get("/list/decline", query_string={"q": q}).text
        return f"/case/{case.id}?" in page

    assert found("müll") and found("Erika Mü") and not found("schmidt")
    erika.last_name = "Schmidt"
    db.session.commit()
    assert found("SCHMIDT") and found("erika schm") and not found("müller")
    # the search looks inside the number, the name or the email, not across them
    assert found(erika.email[:5]) and not found(f"schmidt {erika.email}")
    assert not found(f"{erika.number}erika") and not found(f"{erika.number} erika")
    # with wildcards the customer's own columns decide, also across what the copy holds
    assert found("sch_idt") and found("erika%dt") and not found(f"{erika.number}%erika")


def test_migration_fills_the_text_and_adds_the_triggers(migration_db):
    url = migration_db
    upgrade(directory=MIGRATIONS, revision="0b6e5d93c2f4")
    engine = create_engine(url)
    with engine.begin() as conn:  # a case that exists before the column does
        # Core inserts fill the columns' defaults and leave search_text out
        conn.execute(
            Customer.__table__.insert(),
            {"id": 1, "source": "x", "external_id": "1", "number": "K1",
             "last_name": "Bäcker", "email": "b@example.de"},
        )  # fmt: skip
        conn.execute(
            Case.__table__.insert(), {"customer_id": 1, "key": "decline", "kind": "decline"}
        )
    upgrade(directory=MIGRATIONS)
    with engine.begin() as conn:
        assert list(_texts(conn).values()) == ["k1\n bäcker \nb@example.de"]
        conn.execute(text("UPDATE customer SET first_name = 'Anna' WHERE id = 1"))
        assert _copies(conn) == _expected(conn)
        assert list(_texts(conn).values()) == ["k1\nanna bäcker \nb@example.de"]
    engine.dispose()


def test_postgresql_plans_each_search_for_its_text(db):
    """psycopg prepares repeated statements; a generic plan would not know how rare the
    searched text is (see recovery._plan_each_statement)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite plans each statement anyway")
    assert db.session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"


def test_lists_sort_by_the_customers_name_number_and_group(client, login_as, build, db):
    people = [
        {"last_name": "Zander", "customer_group": "B-Kunde", "number": "K3"},
        {"last_name": "albrecht", "customer_group": None, "number": "K10"},
        {"last_name": None, "company_name": "Mitte GmbH", "customer_group": "A-Kunde"},
        {"last_name": "Albrecht", "customer_group": "B-Kunde", "number": None},
        {"last_name": None, "company_name": None, "customer_group": "A-Kunde", "number": "K2"},
    ]
    cases = [build.case(build.customer(**fields)) for fields in people]
    login_as("sales")

    def order(sort: str) -> list[int]:
        page = client.get(f"/list/decline?sort={sort}").text
        return sorted((c.id for c in cases), key=lambda i: page.index(f"/case/{i}?"))

    keys = {
        "name": lambda f: (f.get("last_name") or f.get("company_name") or "").lower(),
        "number": lambda f: f.get("number", "x"),  # build.customer's default K1000n
        "customer_group": lambda f: f["customer_group"],
    }
    for sort, key in keys.items():
        values = {c.id: key(f) for c, f in zip(cases, people, strict=True)}
        if sort == "number":
            values = {c.id: c.customer.number for c in cases}
        for descending in (False, True):
            valued = sorted((i for i in values if values[i] is not None), key=lambda i: i)
            valued.sort(key=lambda i: values[i], reverse=descending)
            expected = valued + sorted(i for i in values if values[i] is None)
            assert order(("-" if descending else "") + sort) == expected, (sort, descending)

    # a renamed customer moves in the name sort
    cases[0].customer.last_name = "Aaron"
    db.session.commit()
    assert order("name")[:2] == [cases[4].id, cases[0].id]  # no name at all sorts first


def test_the_analysis_writes_the_copies_with_its_cases(build, db):
    """The analysis selects the copies with the cases it opens (the insert trigger is
    skipped for them): they are the same as the trigger's."""
    from recovery.cases.analysis import run_analysis
    from tests.app.test_analysis_cases import _decliner

    company = build.company()
    people = [
        {"first_name": "Erika", "last_name": "Müller", "company_name": "Gärtnerei AG"},
        {"first_name": None, "last_name": None, "company_name": "Mitte GmbH", "email": None},
        {"number": None, "customer_group": None},
    ]
    for fields in people:
        _decliner(build, company, **fields)
    assert run_analysis(utcnow()).opened >= len(people)
    _assert_exact(db)
    with db.engine.connect() as conn:
        assert all(t is not None for t in _texts(conn).values())


def test_a_case_inserted_with_its_copies_keeps_them(build, db):
    """The insert trigger runs only for a case written without its copies."""
    customer = build.customer(last_name="Huber")
    row = {"customer_id": customer.id, "kind": "decline", "reason_params": {}}
    db.session.execute(
        Case.__table__.insert(),
        [
            {**row, "key": "decline", "search_text": "given", "sort_name": "given"},
            {**row, "key": "overdue:1", "search_text": None, "sort_name": None},
        ],
    )
    db.session.commit()
    with db.engine.connect() as conn:
        texts = sorted(_texts(conn).values())
    assert texts[0] == "given" and "huber" in texts[1]

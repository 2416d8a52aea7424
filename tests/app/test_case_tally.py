"""The case tally (live tile and list counts) equals a real count after every change."""

from __future__ import annotations

from datetime import timedelta

from flask_migrate import upgrade
from sqlalchemy import create_engine, func, literal_column, select, text

from recovery.cases import lists
from recovery.cases.analysis import run_analysis
from recovery.models import Case, CaseTally, Company, Customer, utcnow
from tests.app.test_analysis_cases import _decliner
from tests.conftest import MIGRATIONS, form_fields


def _real(conn) -> dict:
    company = func.coalesce(Case.company_id, literal_column("0"))
    rows = conn.execute(
        select(Case.kind, Case.status, company, func.count()).group_by(
            Case.kind, Case.status, company
        )
    )
    return {tuple(r[:3]): r[3] for r in rows}


def _tally(conn) -> dict:
    rows = conn.execute(
        select(CaseTally.kind, CaseTally.status, CaseTally.company_id, CaseTally.cases)
    )
    return {tuple(r[:3]): r[3] for r in rows if r[3]}


def _assert_exact(db):
    db.session.expire_all()
    with db.engine.connect() as conn:
        assert _tally(conn) == _real(conn)


def test_tally_follows_buttons_analysis_and_deletes(client, login_as, build, db):
    north, south = build.company("Nord GmbH"), build.company("Süd GmbH")
    cases = [build.case(build.customer(), north if i % 3 else south) for i in range(6)]
    build.case(build.customer())  # no company
    _assert_exact(db)
    with db.engine.connect() as conn:
        assert _tally(conn)[("decline", "new", north.id)] == 4

    login_as("sales")
    for action, data in (("no-interest", {"text": ""}), ("remind", {"days": "7"})):
        page = client.get(f"/case/{cases[0 if action == 'no-interest' else 1].id}").text
        fields = form_fields(page, f"/{action}")
        target = cases[0] if action == "no-interest" else cases[1]
        assert (
            client.post(f"/case/{target.id}/{action}", data={**fields, **data}).status_code == 302
        )
        _assert_exact(db)
    page = client.get(f"/case/{cases[2].id}").text  # a claim changes no count
    _assert_exact(db)

    # a bulk UPDATE of several cases in one statement, moved between companies
    db.session.execute(
        Case.__table__.update()
        .where(Case.id.in_([c.id for c in cases[3:]]))
        .values(company_id=north.id, status="contacted")
    )
    db.session.commit()
    _assert_exact(db)

    # the analysis opens, updates and recovers cases in bulk
    falling = _decliner(build, north, last_name="Fallend")
    run_analysis(as_of=utcnow() - timedelta(days=2))
    _assert_exact(db)
    build.order(falling, utcnow() - timedelta(days=1), "777.00", "Saatgut", north)
    assert run_analysis().recovered == 1
    _assert_exact(db)

    # deleting a customer deletes its cases by cascade
    db.session.delete(db.session.get(Customer, cases[4].customer_id))
    db.session.commit()
    _assert_exact(db)


def test_tiles_and_list_counts_read_the_tally(client, login_as, build, db):
    north, south = build.company("Nord GmbH"), build.company("Süd GmbH")
    for i in range(5):
        build.case(build.customer(), north if i < 3 else south)
    sales = login_as("sales")
    assert lists.tile_counts(sales)["decline"]["count"] == 5
    query = lists.ListQuery.from_args("decline", {"company": str(south.id)})
    assert lists.count(query, sales, utcnow()) == 2
    sales.company_id = north.id  # restricted to a company: its cases only
    db.session.commit()
    assert lists.tile_counts(sales)["decline"]["count"] == 3
    assert lists.count(query, sales, utcnow()) == 0


def test_migration_fills_the_tally_and_adds_the_triggers(migration_db):
    url = migration_db
    upgrade(directory=MIGRATIONS, revision="e3b7a91c4d52")
    engine = create_engine(url)
    with engine.begin() as conn:  # cases that exist before the tally does
        # Core inserts fill the columns' defaults; these tables are as at head
        conn.execute(Company.__table__.insert(), {"id": 1, "name": "Nord"})
        for i in range(1, 4):
            conn.execute(
                Customer.__table__.insert(), {"id": i, "source": "x", "external_id": str(i)}
            )
            conn.execute(
                Case.__table__.insert(),
                {"customer_id": i, "key": "decline", "kind": "decline",
                 "company_id": 1 if i < 3 else None},
            )  # fmt: skip
    upgrade(directory=MIGRATIONS)
    with engine.begin() as conn:
        assert _tally(conn) == {("decline", "new", 1): 2, ("decline", "new", 0): 1}
        conn.execute(text("UPDATE recovery_case SET status = 'contacted' WHERE id = 1"))
        conn.execute(text("DELETE FROM recovery_case WHERE company_id IS NULL"))
        assert (
            _tally(conn)
            == _real(conn)
            == {
                ("decline", "new", 1): 1,
                ("decline", "contacted", 1): 1,
            }
        )
    engine.dispose()

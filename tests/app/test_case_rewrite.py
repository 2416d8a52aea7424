"""The analysis rewrites an open case only where its values changed, and on PostgreSQL
the case table keeps room on its pages so that a rewrite of the reason alone touches no
index (a HOT update; bench/analysis/README.md). The suite runs this on SQLite and on
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, select, text

from recovery.cases.analysis import run_analysis
from recovery.models import Case, utcnow
from tests.conftest import MIGRATIONS


def _decliner(build, company):
    customer = build.customer(last_name="Fallend")
    today = utcnow()
    for month in range(2, 24, 2):
        net = "550.00" if month < 12 else "1000.00"
        build.order(customer, today - timedelta(days=30 * month + 20), net, "Dünger", company)
    return customer


def _case(db, customer) -> Case:
    db.session.expire_all()
    return db.session.scalar(select(Case).filter_by(customer_id=customer.id, kind="decline"))


def test_only_changed_cases_are_rewritten(build, db):
    customer = _decliner(build, build.company())
    # noon UTC: a minute later is the same business day whatever the time zone
    as_of = datetime.combine(utcnow().date(), time(12), UTC)
    assert run_analysis(as_of).opened == 1
    first = _case(db, customer)
    values = (first.reason_text, dict(first.reason_params), first.revenue_at_risk)
    assert first.analysed_at == as_of and first.revenue_at_risk is not None

    later = as_of + timedelta(minutes=1)
    again = run_analysis(later)  # same day, same data: nothing to write
    assert (again.opened, again.updated, again.closed) == (0, 0, 0)
    assert _case(db, customer).analysed_at == as_of  # the run that last changed it

    # a case whose stored values differ from the run's is rewritten: the reason's
    # parameters (JSON) alone, then the money alone
    for change in ({"reason_params": {"stale": 1}}, {"revenue_at_risk": Decimal("0.01")}):
        case = _case(db, customer)
        for name, value in change.items():
            setattr(case, name, value)
        db.session.commit()
        result = run_analysis(later)
        assert (result.opened, result.updated) == (0, 1), change
        case = _case(db, customer)
        assert (case.reason_text, case.reason_params, case.revenue_at_risk) == values
        assert case.analysed_at == later


def _fillfactor(url: str) -> str | None:
    engine = create_engine(url)
    with engine.connect() as conn:
        options = conn.scalar(
            text("SELECT reloptions FROM pg_class WHERE relname = 'recovery_case'")
        )
    engine.dispose()
    return options


def test_the_case_table_leaves_half_of_each_page_free_on_postgres(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL storage parameter")
    assert _fillfactor(db.engine.url.render_as_string(hide_password=False)) == ["fillfactor=50"]


def test_the_fillfactor_migration_sets_and_resets_it(migration_db):
    upgrade(directory=MIGRATIONS, revision="c5d1f0a9e3b7")
    if not migration_db.startswith("postgresql"):
        return  # nothing to do on SQLite: the migration ran and went down without error
    assert _fillfactor(migration_db) == ["fillfactor=50"]
    downgrade(directory=MIGRATIONS, revision="a7c3e5f91b24")
    assert _fillfactor(migration_db) is None

"""Fixtures: a real database (SQLite file, or PostgreSQL when TEST_DATABASE_URL is set),
the app, a client, a login helper and small builders for test data."""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from recovery import create_app
from recovery.extensions import db as _db
from recovery.models import (
    Case,
    Company,
    Customer,
    Order,
    OrderLine,
    ProductGroup,
    User,
)

PASSWORD = "correct-horse-battery"


def _throwaway_postgres(url: str):
    """Create a database of its own on the server of ``url``; return (url, drop)."""
    base = make_url(url)
    name = f"recovery_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


MIGRATIONS = str(Path(__file__).resolve().parents[1] / "migrations")


@pytest.fixture()
def migration_db(tmp_path):
    """An empty database of its own for a migration test (PostgreSQL when
    TEST_DATABASE_URL is set), with an app on it in an app context; yields its URL."""
    url, drop = (
        _throwaway_postgres(os.environ["TEST_DATABASE_URL"])
        if os.environ.get("TEST_DATABASE_URL")
        else (f"sqlite:///{tmp_path / 'migrated.db'}", lambda: None)
    )
    try:
        app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            yield url
            _db.engine.dispose()
    finally:
        drop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        test_url, drop = _throwaway_postgres(url)
        yield test_url
        drop()
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=database_url,
        UPLOAD_FOLDER=str(tmp_path_factory.mktemp("uploads")),
        PUBLIC_BASE_URL="http://127.0.0.1:5000",
    )
    with app.app_context():
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


@pytest.fixture()
def db(app):
    """The database, emptied after each test (services commit, so no rollback trick)."""
    with app.app_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        # the case tally last: deleting cases updates it (triggers)
        tables = sorted(reversed(_db.metadata.sorted_tables), key=lambda t: t.name == "case_tally")
        if _db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            # A browser test's page may still be posting (the case page's leave beacon
            # when its context closes) while this runs; PostgreSQL then picks one side of
            # the lock cycle as the deadlock victim. Being the victim, try again.
            for attempt in range(5):
                try:
                    with _db.engine.begin() as conn:
                        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                    break
                except OperationalError as exc:
                    if "deadlock detected" not in str(exc) or attempt == 4:
                        raise
        else:
            with _db.engine.begin() as conn:
                for table in tables:
                    conn.execute(table.delete())


class IsolatedClient(FlaskClient):
    """Each request gets its own app context, ``g`` and session, as in production.

    Without this, requests would reuse the test's app context: Flask-Login's cached
    user and Flask-Babel's cached locale would leak from one request (or client) into
    the next. After each request the test's session forgets what it had loaded, so
    assertions read what the request committed.
    """

    def open(self, *args, **kwargs):
        ctx = self.application.app_context()
        ctx.push()
        try:
            return super().open(*args, **kwargs)
        finally:
            _db.session.remove()
            ctx.pop()
            _db.session.expire_all()


@pytest.fixture()
def client(app, db):
    app.test_client_class = IsolatedClient
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def form_fields(html: str, action_fragment: str) -> dict[str, str]:
    """Hidden fields of the form whose action contains ``action_fragment``."""
    start = html.index(action_fragment)
    form_start = html.rfind("<form", 0, start)
    form_end = html.index("</form>", start)
    chunk = html[form_start:form_end]
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', chunk))


def make_user(role: str = "sales", email: str | None = None, **fields) -> User:
    user = User(
        email=email or f"{role}-{uuid.uuid4().hex[:6]}@test.example",
        name=fields.pop("name", f"{role.title()} User"),
        role=role,
        **fields,
    )
    user.set_password(PASSWORD)
    _db.session.add(user)
    _db.session.commit()
    return user


@pytest.fixture()
def login_as(client, db):
    """Log in through the real login form; returns the user."""

    def login(role: str = "sales", **fields) -> User:
        user = make_user(role, **fields)
        page = client.get("/login").get_data(as_text=True)
        response = client.post(
            "/login",
            data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page)},
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return login


@pytest.fixture()
def run_jobs(db):
    """Run the enqueued jobs through the worker's real code until none is due; the count."""
    from recovery.jobs.worker import JobRunner

    def run() -> int:
        return JobRunner("test-worker", echo=lambda _line: None).run(once=True)

    return run


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Builder:
    """Small builders for customers, orders and cases."""

    def __init__(self):
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def company(self, name: str = "Gartenwelt GmbH", **fields) -> Company:
        company = Company(name=name, **fields)
        _db.session.add(company)
        _db.session.commit()
        return company

    def group(self, name: str) -> ProductGroup:
        group = _db.session.query(ProductGroup).filter_by(name=name).one_or_none()
        if group is None:
            group = ProductGroup(name=name)
            _db.session.add(group)
            _db.session.commit()
        return group

    def customer(self, **fields) -> Customer:
        n = self._next()
        values = {
            "source": "test",
            "external_id": f"C{n}",
            "number": f"K{10000 + n}",
            "first_name": "Erika",
            "last_name": f"Muster{n}",
            "email": f"erika{n}@example.de",
            "city": "Köln",
            "country": "DE",
            "customer_group": "Endkunde",
            "marketing_consent": True,
        }
        values.update(fields)
        customer = Customer(**values)
        _db.session.add(customer)
        _db.session.commit()
        return customer

    def order(
        self,
        customer: Customer,
        when: datetime,
        net: str | Decimal = "100.00",
        group: str = "Saatgut",
        company: Company | None = None,
        state: str = "completed",
    ) -> Order:
        n = self._next()
        net = Decimal(net)
        order = Order(
            source="test",
            external_id=f"O{n}",
            number=f"A{50000 + n}",
            customer_id=customer.id,
            company_id=company.id if company else None,
            ordered_at=when,
            net_total=net,
            gross_total=(net * Decimal("1.19")).quantize(Decimal("0.01")),
            state=state,
        )
        order.lines.append(
            OrderLine(
                line_no=1,
                sku=f"SKU-{n}",
                product_name="Tomatensamen",
                product_group_id=self.group(group).id,
                quantity=Decimal(1),
                net_amount=net,
            )
        )
        _db.session.add(order)
        _db.session.commit()
        return order

    def case(self, customer: Customer, company: Company | None = None, **fields) -> Case:
        values = {
            "key": "decline",
            "kind": "decline",
            "status": "new",
            "company_id": company.id if company else None,
            "reference_revenue": Decimal("9800.00"),
            "current_revenue": Decimal("4200.00"),
            "decline_pct": 57.1,
            "revenue_at_risk": Decimal("3100.00"),
            "reason_text": "Umsatz 4.200 € gegenüber 9.800 € (−57 %)",
            "opened_at": utc(2026, 1, 1),
        }
        values.update(fields)
        case = Case(customer_id=customer.id, **values)
        _db.session.add(case)
        _db.session.commit()
        return case


@pytest.fixture()
def build(db) -> Builder:
    return Builder()

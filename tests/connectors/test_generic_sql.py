"""Generic SQL connector on SQLite, PostgreSQL and MariaDB (throwaway databases)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    func,
    insert,
    select,
    text,
    update,
)

from tests.connectors.jtl_schema import (
    BACKENDS,
    mariadb_databases,
    mariadb_url,
    postgres_database,
    require_server,
    reset_postgres,
    sqlite_writer,
)
from wawi_connectors import (
    AuthenticationError,
    ConfigurationError,
    ConnectorError,
    DataError,
    ReadContext,
    RowError,
    TransientError,
    get_connector_class,
    sqlsource,
)
from wawi_connectors.generic_sql import GenericSqlConnector

metadata = MetaData()
KUNDEN = Table(
    "kunden",
    metadata,
    Column("nr", Integer, primary_key=True, autoincrement=False),
    Column("kundennummer", String(20)),
    Column("vorname", String(50)),
    Column("nachname", String(50)),
    Column("mail", String(100)),
    Column("ort", String(50)),
    Column("newsletter", String(1)),
    Column("geaendert", DateTime),
)
BELEGE = Table(
    "belege",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("kunde", Integer, nullable=False),
    Column("datum", DateTime, nullable=False),
    Column("netto", Numeric(12, 2), nullable=False),
    Column("brutto", Numeric(12, 2)),
    Column("status", String(20)),
    Column("shop", String(50)),
    Column("waehrung", String(3)),
    Column("geaendert", DateTime),
)
POSITIONEN = Table(
    "positionen",
    metadata,
    Column("beleg", Integer, nullable=False),
    Column("pos", Integer, nullable=False),
    Column("artnr", String(20)),
    Column("bezeichnung", String(100)),
    Column("gruppe", String(50)),
    Column("menge", Numeric(12, 3)),
    Column("netto", Numeric(12, 2), nullable=False),
)

CUSTOMERS_QUERY = """
SELECT nr AS external_id, kundennummer AS customer_number, vorname AS first_name,
       nachname AS last_name, mail AS email, ort AS city, newsletter AS marketing_consent,
       geaendert AS changed, 'a;b delete' AS note, '10:30' AS opening_time,
       CASE WHEN nr = 1 THEN 'Frau' END AS salutation
FROM kunden  -- a comment may say delete; it is not looked at
WHERE mail LIKE '%@%'
"""
ORDERS_QUERY = """
SELECT id AS external_id, kunde AS customer_external_id, datum AS ordered_at,
       netto AS net_total, brutto AS gross_total, status AS state, shop AS company,
       waehrung AS currency, geaendert AS changed
FROM belege;
"""
LINES_QUERY = """
SELECT beleg AS order_external_id, pos AS line_no, artnr AS sku, bezeichnung AS product_name,
       gruppe AS product_group, menge AS quantity, netto AS net_amount
FROM positionen
"""
STATES = {"storniert": "cancelled", "offen": "open", "erledigt": "completed", "retoure": "returned"}
T0 = datetime(2024, 5, 1, 12, 0)


@dataclass
class SqlEnv:
    backend: str
    url: str
    engine: Engine
    opened: list[GenericSqlConnector] = field(default_factory=list)

    def connector(self, **settings: Any) -> GenericSqlConnector:
        values = {
            "url": self.url,
            "customers_query": CUSTOMERS_QUERY,
            "customers_cursor_column": "Changed",
            "orders_query": ORDERS_QUERY,
            "orders_cursor_column": "changed",
            "order_lines_query": LINES_QUERY,
            "state_map": STATES,
            **settings,
        }
        connector = GenericSqlConnector(values)
        self.opened.append(connector)
        return connector

    def execute(self, statement: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(statement)

    def insert(self, table: Table, *rows: dict[str, Any]) -> None:
        """Insert rows; columns a row leaves out are NULL."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(table), [{c.name: row.get(c.name) for c in table.c} for row in rows]
            )

    def count(self, table: Table) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_database("generic_test") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def sql(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlEnv]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'shop.sqlite'}"
            engine = sqlite_writer(url)
        elif request.param == "postgresql":
            url = request.getfixturevalue("pg_url")
            reset_postgres(url)
            engine = create_engine(url)
        else:
            (name,) = stack.enter_context(mariadb_databases("generic_test"))
            url = mariadb_url(name)
            engine = create_engine(url)
        metadata.create_all(engine)
        env = SqlEnv(request.param, url, engine)
        try:
            yield env
        finally:
            for connector in env.opened:
                connector.close()
            engine.dispose()


def seed(env: SqlEnv) -> None:
    env.insert(
        KUNDEN,
            dict(nr=1, kundennummer="K1", vorname="Anna", nachname="Muster",
                 mail="anna@example.de", ort="Berlin", newsletter="Y", geaendert=T0),
            dict(nr=2, kundennummer="K2", vorname="Ben", nachname="Beispiel",
                 mail="ben@example.de", ort="Köln", newsletter="N", geaendert=T0),
            dict(nr=3, kundennummer="K3", vorname="Cleo", mail="cleo@example.de",
                 newsletter=None, geaendert=datetime(2024, 5, 2)),
            dict(nr=4, kundennummer="K4", vorname="Ohne Mail", mail=None, geaendert=T0),
    )  # fmt: skip
    env.insert(
        BELEGE,
            dict(id=1, kunde=1, datum=datetime(2024, 1, 10, 9, 30), netto=Decimal("100.00"),
                 brutto=Decimal("119.00"), status="erledigt", shop="Salon Nord",
                 waehrung="EUR", geaendert=T0),
            dict(id=2, kunde=2, datum=datetime(2024, 7, 1, 18, 0), netto=Decimal("50.00"),
                 brutto=Decimal("59.50"), status="offen", shop="Salon Süd", waehrung=None,
                 geaendert=T0),
            dict(id=3, kunde=1, datum=datetime(2024, 8, 1, 8, 0), netto=Decimal("20.00"),
                 brutto=None, status="RETOURE", shop=None, waehrung="CHF", geaendert=T0),
    )  # fmt: skip
    env.insert(
        POSITIONEN,
            dict(beleg=1, pos=2, artnr="WAX", bezeichnung="Wachs", gruppe="Styling",
                 menge=Decimal("2"), netto=Decimal("30.00")),
            dict(beleg=1, pos=1, artnr="SHAMPOO", bezeichnung="Shampoo", gruppe="Haarpflege",
                 menge=Decimal("7"), netto=Decimal("70.00")),
            dict(beleg=2, pos=1, artnr="SHAMPOO", bezeichnung="Shampoo", gruppe="Haarpflege",
                 menge=None, netto=Decimal("50.00")),
    )  # fmt: skip


def read_all(connector: GenericSqlConnector, stream: str, cursor: str | None = None):
    batches = list(connector.read(stream, ReadContext(cursor=cursor)))
    return batches, [record for batch in batches for record in batch.records]


def ids(records) -> list[str]:
    return [record.external_id for record in records]


def test_registered_with_secret_url():
    cls = get_connector_class("generic_sql")
    assert cls is GenericSqlConnector
    assert cls.secret_fields() == {"url"}


def test_full_read_maps_columns_by_name(sql: SqlEnv):
    seed(sql)
    connector = sql.connector()

    _, customers = read_all(connector, "customers")
    assert ids(customers) == ["1", "2", "3"]  # sorted by (changed, external_id); no K4
    anna = customers[0]
    assert (anna.number, anna.first_name, anna.last_name, anna.email, anna.city) == (
        "K1", "Anna", "Muster", "anna@example.de", "Berlin",
    )  # fmt: skip
    assert [c.marketing_consent for c in customers] == [True, False, None]
    assert [c.salutation for c in customers] == ["Frau", None, None]

    _, orders = read_all(connector, "orders")
    by_id = {order.external_id: order for order in orders}
    first = by_id["1"]
    assert first.customer_external_id == "1"
    assert first.ordered_at == datetime(2024, 1, 10, 8, 30, tzinfo=UTC)  # Europe/Berlin
    assert (first.net_total, first.gross_total) == (Decimal("100.00"), Decimal("119.00"))
    assert (first.company, first.currency) == ("Salon Nord", "EUR")
    assert [(ln.line_no, ln.sku, ln.product_group, ln.quantity, ln.net_amount)
            for ln in first.lines] == [
        (1, "SHAMPOO", "Haarpflege", Decimal(7), Decimal("70.00")),
        (2, "WAX", "Styling", Decimal(2), Decimal("30.00")),
    ]  # fmt: skip
    assert by_id["2"].lines[0].quantity == Decimal(1)
    assert by_id["2"].currency == "EUR"
    assert by_id["3"].lines == ()
    assert {k: o.state for k, o in by_id.items()} == {
        "1": "completed", "2": "open", "3": "returned",
    }  # fmt: skip


def test_incremental_read_returns_changed_and_new_rows_only(sql: SqlEnv):
    seed(sql)
    connector = sql.connector()
    cursor = read_all(connector, "orders")[0][-1].cursor

    sql.execute(
        update(BELEGE)
        .where(BELEGE.c.id == 2)
        .values(status="storniert", geaendert=datetime(2024, 6, 1))
    )
    sql.insert(
        BELEGE,
        dict(id=4, kunde=3, datum=datetime(2024, 9, 1), netto=Decimal("9.99"), status="offen",
             geaendert=datetime(2024, 6, 2)),
    )  # fmt: skip

    batches, orders = read_all(connector, "orders", cursor)
    assert ids(orders) == ["2", "4"]
    assert orders[0].state == "cancelled"
    assert read_all(connector, "orders", batches[-1].cursor) == ([], [])


def test_paging_over_many_rows_with_the_same_cursor_value(sql: SqlEnv):
    seed(sql)
    sql.insert(
        KUNDEN, *[dict(nr=100 + n, mail=f"c{n}@example.de", geaendert=T0) for n in range(12)]
    )
    connector = sql.connector(batch_size=5)

    batches, customers = read_all(connector, "customers")
    assert [len(batch.records) for batch in batches] == [5, 5, 5]
    # 14 rows share T0 and are ordered by external_id; customer 3 changed later
    assert ids(customers) == ["1", "2", *[str(100 + n) for n in range(12)], "3"]

    _, resumed = read_all(connector, "customers", batches[0].cursor)
    assert ids(resumed) == ids(customers)[5:]


def test_missing_columns_are_named(sql: SqlEnv):
    seed(sql)
    connector = sql.connector(
        orders_query="SELECT id AS external_id, kunde AS customer_external_id FROM belege"
    )
    with pytest.raises(ConfigurationError) as error:
        read_all(connector, "orders")
    assert str(error.value) == (
        "Orders query lacks the columns: ordered_at, net_total, changed (the cursor column)."
    )


def test_rows_without_a_cursor_value_are_refused(sql: SqlEnv):
    seed(sql)
    sql.execute(update(BELEGE).where(BELEGE.c.id == 3).values(geaendert=None))
    with pytest.raises(DataError, match="1 row"):
        read_all(sql.connector(), "orders")


def test_unusable_values_are_reported_with_row_and_column(sql: SqlEnv):
    seed(sql)
    sql.execute(update(BELEGE).where(BELEGE.c.id == 2).values(status="verloren"))
    with pytest.raises(DataError) as error:
        read_all(sql.connector(), "orders")
    assert error.value.errors == [
        RowError(2, "state", "unknown state 'verloren'; translate it in the order states setting")
    ]


def test_connection_reports_counts(sql: SqlEnv):
    seed(sql)
    assert sql.connector().test_connection() == "connected, 3 customers, 3 orders"


def test_the_connection_is_read_only(sql: SqlEnv):
    seed(sql)
    connector = sql.connector()
    with (
        pytest.raises(ConnectorError, match="connectors only read"),
        sqlsource.read_only(connector.engine) as conn,
    ):
        conn.execute(update(KUNDEN).values(ort="Nirgendwo"))
    assert read_all(connector, "customers")[1][0].city == "Berlin"


SNEAKY_FUNCTIONS = {
    "postgresql": "CREATE FUNCTION sneaky() RETURNS integer LANGUAGE plpgsql AS "
    "$$ BEGIN INSERT INTO audit VALUES (1); RETURN 1; END $$",
    "mariadb": "CREATE FUNCTION sneaky() RETURNS INT MODIFIES SQL DATA "
    "BEGIN INSERT INTO audit VALUES (1); RETURN 1; END",
}


@pytest.mark.parametrize("sql", list(SNEAKY_FUNCTIONS), indirect=True)
def test_a_sneaky_write_is_stopped_by_the_read_only_transaction(sql: SqlEnv):
    """A function that writes passes the static check; the transaction stops it.

    SQLite has no SQL functions that write; its guard is the test above.
    """
    seed(sql)
    audit = Table("audit", MetaData(), Column("x", Integer))
    audit.create(sql.engine)
    sql.execute(text(SNEAKY_FUNCTIONS[sql.backend]))
    query = "SELECT nr AS external_id, geaendert AS changed, sneaky() AS x FROM kunden"
    connector = sql.connector(customers_query=query)  # passes the static check

    with pytest.raises(ConnectorError, match="connectors only read"):
        read_all(connector, "customers")
    assert sql.count(audit) == 0


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1 AS external_id; DELETE FROM kunden",
        "DELETE FROM kunden",
        "UPDATE kunden SET ort = 'x'",
        "WITH d AS (DELETE FROM kunden RETURNING *) SELECT * FROM d",
        "SELECT * INTO kopie FROM kunden",
        "SELECT 1 UPDATE kunden SET ort = 'x'",  # T-SQL runs both without a ';'
        "SELECT 1 AS a /*! ; DROP TABLE kunden */",
        "SELECT 1 --1; DELETE FROM kunden",  # MySQL: '--1' is no comment
        "SELECT '\\'' ; DELETE FROM kunden; -- '",  # MySQL: backslash escapes the quote
        "SELECT 1 /* /* */ ; DROP TABLE kunden; /* */",  # MySQL: comments do not nest
        "EXEC sp_who",
        "PRAGMA query_only = OFF",
        "SELECT * FROM kunden FOR UPDATE",
        "SELECT 'unclosed",
    ],
)
def test_the_static_check_refuses_anything_but_one_select(query: str):
    with pytest.raises(ConfigurationError):
        sqlsource.check_select(query, "Customers query")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT 1;", "SELECT 1"),
        ("  select ';' AS x, 'delete' AS y  ;  ", "select ';' AS x, 'delete' AS y"),
        ("WITH a AS (SELECT 1 AS x) SELECT x FROM a", "WITH a AS (SELECT 1 AS x) SELECT x FROM a"),
        ("(SELECT 1)", "(SELECT 1)"),
        ("SELECT 1 -- trailing; comment", "SELECT 1 -- trailing; comment"),
        ('SELECT "update" FROM t', 'SELECT "update" FROM t'),
        ("SELECT CAST(x AS date), y::date FROM t", "SELECT CAST(x AS date), y::date FROM t"),
    ],
)
def test_the_static_check_accepts_plain_selects(query: str, expected: str):
    assert sqlsource.check_select(query, "Customers query") == expected


def test_a_write_in_the_settings_is_refused_before_connecting():
    with pytest.raises(ConfigurationError, match="may only read; it contains DELETE"):
        GenericSqlConnector(
            {
                "url": "sqlite://",
                "customers_query": "SELECT 1 AS external_id WHERE EXISTS (DELETE FROM x)",
                "orders_query": "SELECT 1",
            }
        )


def test_state_map_may_only_name_our_states():
    with pytest.raises(ConfigurationError, match="Order states may only map"):
        GenericSqlConnector(
            {"url": "sqlite://", "customers_query": "SELECT 1", "orders_query": "SELECT 1",
             "state_map": {"x": "lost"}}
        )  # fmt: skip


def test_an_unreachable_server_is_a_transient_error():
    connector = GenericSqlConnector(
        {
            "url": "postgresql+psycopg://postgres@127.0.0.1:1/none",
            "customers_query": "SELECT 1 AS external_id",
            "orders_query": "SELECT 1",
        }
    )
    with pytest.raises(TransientError, match="Could not connect"):
        connector.test_connection()
    connector.close()


def test_a_wrong_password_is_an_authentication_error():
    require_server("mariadb")
    connector = GenericSqlConnector(
        {
            "url": mariadb_url("test", password="definitely-wrong"),
            "customers_query": "SELECT 1 AS external_id",
            "orders_query": "SELECT 1",
        }
    )
    with pytest.raises(AuthenticationError):
        connector.test_connection()
    connector.close()


def test_an_unknown_database_is_a_configuration_error():
    require_server("postgresql")
    connector = GenericSqlConnector(
        {
            "url": "postgresql+psycopg://postgres@127.0.0.1:5432/no_such_db_here",
            "customers_query": "SELECT 1 AS external_id",
            "orders_query": "SELECT 1",
        }
    )
    with pytest.raises(ConfigurationError, match="does not exist"):
        connector.test_connection()
    connector.close()


def test_an_invalid_cursor_is_refused():
    connector = GenericSqlConnector(
        {"url": "sqlite://", "customers_query": "SELECT 1", "orders_query": "SELECT 1"}
    )
    with pytest.raises(ConfigurationError, match="Invalid generic SQL cursor"):
        next(connector.read("customers", ReadContext(cursor="not json")))

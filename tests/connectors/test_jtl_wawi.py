"""JTL-Wawi connector against a JTL-shaped database on SQLite, PostgreSQL and MariaDB.

SQLite attaches the files ``dbo`` and ``Verkauf`` so ``dbo.tkunde`` and
``Verkauf.tAuftrag`` resolve; PostgreSQL gets the schemas ``dbo`` and ``Verkauf`` in a
throwaway database; MariaDB gets two throwaway databases reached through ``schema_map``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, update
from sqlalchemy.dialects import mssql

from tests.connectors.jtl_schema import (
    BACKENDS,
    DISCOUNT,
    FREE_POSITION,
    PACKAGING,
    PAYMENT,
    SHIPPING,
    JtlDatabase,
    Line,
    attach_jtl_schemas,
    mariadb_databases,
    mariadb_url,
    postgres_database,
    reset_postgres,
    sqlite_writer,
)
from wawi_connectors import (
    ConfigurationError,
    ConnectorError,
    CustomerRecord,
    OrderRecord,
    ReadContext,
    get_connector_class,
    jtl_wawi,
    sqlsource,
)
from wawi_connectors.jtl_wawi import JtlWawiConnector


@dataclass
class JtlEnv:
    backend: str
    db: JtlDatabase
    url: str
    schema_map: dict[str, str]
    sqlite_dir: Path | None
    opened: list[JtlWawiConnector] = field(default_factory=list)

    def connector(self, **settings: Any) -> JtlWawiConnector:
        values: dict[str, Any] = {"url": self.url, "schema_map": self.schema_map or None}
        values.update(settings)
        connector = JtlWawiConnector(values)
        if self.sqlite_dir is not None:
            event.listen(connector.engine, "connect", attach_jtl_schemas(self.sqlite_dir))
        self.opened.append(connector)
        return connector


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_database("jtl_test") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def jtl(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JtlEnv]:
    backend = request.param
    with ExitStack() as stack:
        schema_map: dict[str, str] = {}
        sqlite_dir = None
        engine: Engine
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / 'main.sqlite'}"
            engine = sqlite_writer(url, attach_from=tmp_path)
            sqlite_dir = tmp_path
        elif backend == "postgresql":
            url = request.getfixturevalue("pg_url")
            reset_postgres(url)
            engine = create_engine(url)
        else:
            dbo, verkauf = stack.enter_context(mariadb_databases("jtl_dbo", "jtl_verkauf"))
            url = mariadb_url(dbo)
            schema_map = {"dbo": dbo, "Verkauf": verkauf}
            engine = create_engine(url)
        env = JtlEnv(backend, JtlDatabase(engine, schema_map), url, schema_map, sqlite_dir)
        try:
            yield env
        finally:
            for connector in env.opened:
                connector.close()
            engine.dispose()


# fmt: off
def seed(db: JtlDatabase) -> None:
    db.add_company(1, "Beauty GmbH", 10, "Beauty GmbH (alter Name)")
    db.add_company_history(11, 1, "Beauty GmbH")
    db.add_company(2, "Salon Shop", 20, "Salon Shop")
    db.add_product_group(1, "Haarpflege")
    db.add_product_group(2, "Styling")
    db.add_article(100, "SHAMPOO-1", 1)
    db.add_article(101, "WAX-1", 2)
    db.add_customer_group(1, "Endkunden")
    db.add_customer_group(2, "Händler")

    db.add_customer(1, "K-1001", group=1, newsletter="Y")
    db.add_address(1, 1, standard=1, typ=1, cAnrede="Frau", cVorname="Anna", cName="Muster",
                   cMail="anna@example.de", cTel="030 123", cMobil="0170 1", cOrt="Berlin",
                   cISO="DE", cLand="Deutschland")
    db.add_address(2, 1, standard=0, typ=1, cVorname="Anna", cName="Alt",
                   cMail="old@example.de", cOrt="Hamburg", cISO="DE")
    db.add_address(3, 1, standard=1, typ=0, cVorname="Anna", cName="Lieferung",
                   cMail="delivery@example.de", cOrt="München", cISO="DE")
    db.add_customer(2, "K-1002", group=2)
    db.add_address(4, 2, standard=1, typ=1, cAnrede="Firma", cFirma="Salon Schick",
                   cMail="info@schick.at",
                   cOrt="Wien", cISO=None, cLand="Österreich")
    db.add_customer(3, "K-1003", newsletter=None)
    db.add_address(5, 3, standard=0, typ=1, cMail="not-default@example.de", cOrt="Köln")

    shampoo = Line(1, 100, "SHAMPOO-1", "Shampoo 250 ml", "2", "10.00")
    wax = Line(2, 101, "WAX-1", "Wachs", "1", "5.00", discount="10")
    db.add_order(1000, 1, "AU-1000", datetime(2024, 3, 1, 10, 0), 10, [shampoo, wax],
                 gross="29.16")
    db.change_order(1000, nKomplettAusgeliefert=1)
    db.add_order(1001, 2, "AU-1001", datetime(2024, 7, 15, 14, 30), 20,
                 [Line(3, 100, "SHAMPOO-1", "Shampoo 250 ml", "1", "10.00")])
    db.add_order(1002, 1, "AU-1002", datetime(2024, 8, 1, 9, 0), 11,
                 [Line(4, 101, "WAX-1", "Wachs", "3", "5.00")])
    db.change_order(1002, nStorno=True)
    db.add_order(1003, 2, "AU-1003", datetime(2024, 9, 1, 9, 0), 20,
                 [Line(5, 100, "SHAMPOO-1", "Shampoo 250 ml", "4", "10.00")])
    db.change_order(1003, nKomplettAusgeliefert=1)
    db.change_eckdaten(1003, nIstKomplettRetourniert=True)
    db.add_order(1004, 1, "AN-1004", datetime(2024, 9, 2, 9, 0), 10,  # a quote
                 [Line(6, 100, "SHAMPOO-1", "Shampoo", "1", "10.00")], order_type=0)
    db.add_order(1005, None, "AU-1005", datetime(2024, 9, 3, 9, 0), 10,  # no customer
                 [Line(7, 100, "SHAMPOO-1", "Shampoo", "1", "10.00")])
    db.add_order(1006, 3, "AU-1006", datetime(2024, 9, 4, 9, 0), 20,
                 [Line(8, 100, None, "Shampoo (freie Position)", "1", "8.00"),
                  Line(9, None, None, "Versand", "1", "4.90", type=SHIPPING)], eckdaten=False)
# fmt: on


def read_all(connector: JtlWawiConnector, stream: str, cursor: str | None = None):
    batches = list(connector.read(stream, ReadContext(cursor=cursor)))
    records = [record for batch in batches for record in batch.records]
    return batches, records


def by_id(records) -> dict[str, Any]:
    return {record.external_id: record for record in records}


def test_registered_with_secret_url():
    cls = get_connector_class("jtl_wawi")
    assert cls is JtlWawiConnector
    assert cls.secret_fields() == {"url"}
    assert set(cls.streams) == {"customers", "orders"}


def test_full_read_of_customers_uses_the_default_address(jtl: JtlEnv):
    seed(jtl.db)
    batches, records = read_all(jtl.connector(), "customers")

    customers = by_id(records)
    assert set(customers) == {"1", "2", "3"}
    assert customers["1"] == CustomerRecord(
        external_id="1",
        number="K-1001",
        first_name="Anna",
        last_name="Muster",
        salutation="Frau",
        email="anna@example.de",
        phone="030 123",
        mobile="0170 1",
        city="Berlin",
        country="DE",
        customer_group="Endkunden",
        marketing_consent=True,  # cNewsletter "Y"
    )
    assert customers["2"].marketing_consent is False  # "N"
    assert customers["3"].marketing_consent is None  # NULL: the Wawi does not say
    assert customers["2"].company_name == "Salon Schick"
    assert customers["2"].salutation == "Firma"
    assert customers["3"].salutation is None
    assert customers["2"].country == "Österreich"
    assert customers["2"].customer_group == "Händler"
    assert customers["3"].email is None and customers["3"].city is None
    assert customers["3"].customer_group is None
    assert batches[-1].cursor is not None and len(batches[-1].cursor) == 16


def test_full_read_of_orders(jtl: JtlEnv):
    seed(jtl.db)
    _, records = read_all(jtl.connector(), "orders")

    orders = by_id(records)
    assert set(orders) == {"1000", "1001", "1002", "1003", "1006"}  # no quote, no guest order
    first: OrderRecord = orders["1000"]
    assert first.customer_external_id == "1"
    assert first.number == "AU-1000"
    assert first.ordered_at == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)  # CET
    assert orders["1001"].ordered_at == datetime(2024, 7, 15, 12, 30, tzinfo=UTC)  # CEST
    assert (first.net_total, first.gross_total) == (Decimal("24.50"), Decimal("29.16"))
    assert first.company == "Beauty GmbH"  # tFirmaHistory 10 -> current tfirma name
    assert orders["1001"].company == "Salon Shop"
    assert first.currency == "EUR"
    assert [
        (line.line_no, line.sku, line.product_group, line.quantity, line.net_amount)
        for line in first.lines
    ] == [
        (1, "SHAMPOO-1", "Haarpflege", Decimal(2), Decimal("20.00")),
        (2, "WAX-1", "Styling", Decimal(1), Decimal("4.50")),
    ]
    assert first.lines[0].product_name == "Shampoo 250 ml"
    assert {key: orders[key].state for key in orders} == {
        "1000": "completed",
        "1001": "open",
        "1002": "cancelled",
        "1003": "returned",
        "1006": "open",
    }
    no_eckdaten = orders["1006"]
    assert no_eckdaten.net_total == Decimal("8.00") and no_eckdaten.gross_total is None
    assert [(line.sku, line.product_group) for line in no_eckdaten.lines] == [
        ("SHAMPOO-1", "Haarpflege"),  # sku from tArtikel when the position has none
    ]  # the shipping position is no line


# fmt: off
def test_order_net_is_the_goods_net_without_shipping_fees_vouchers_or_parts(jtl: JtlEnv):
    """An order as JTL keeps it: goods, a bill of materials with its components, a
    configurator article with its chosen components, and shipping, a coupon, a payment
    surcharge and packaging as positions of their own. Eckdaten's fWertNetto counts them
    all (64.40); the order's revenue counts the goods, each once (62.00)."""
    seed(jtl.db)
    jtl.db.add_article(102, "SET-1", 1)
    jtl.db.add_article(103, "BUERSTE-1", 2)
    jtl.db.add_order(1010, 1, "AU-1010", datetime(2024, 11, 5, 10, 0), 10, [
        Line(20, 100, "SHAMPOO-1", "Shampoo 250 ml", "2", "10.00"),
        Line(21, 102, "SET-1", "Pflegeset", "1", "30.00", bom=21),
        Line(22, 100, "SHAMPOO-1", "Shampoo 250 ml", "1", "0.00", bom=21),
        Line(23, 103, "BUERSTE-1", "Bürste", "1", "0.00", bom=21),
        Line(24, 101, "WAX-1", "Wachs nach Wunsch", "1", "5.00"),
        Line(25, None, "DUFT-ROSE", "Duft: Rose", "1", "1.50", konfig=24),
        Line(26, None, "DOSE-GOLD", "Dose: Gold", "1", "2.50", konfig=24),
        Line(27, None, None, "Gravur", "1", "3.00", type=FREE_POSITION),
        Line(28, None, None, "DHL Paket", "1", "4.90", type=SHIPPING),
        Line(29, None, None, "Kupon NEU5", "1", "-5.00", type=DISCOUNT),
        Line(30, None, None, "Nachnahmegebühr", "1", "2.00", type=PAYMENT),
        Line(31, None, None, "Karton", "1", "0.50", type=PACKAGING),
    ], gross="76.64")
    _, records = read_all(jtl.connector(), "orders")

    order = by_id(records)["1010"]
    assert [
        (line.line_no, line.sku, line.quantity, line.net_amount, line.gross_amount)
        for line in order.lines
    ] == [
        (1, "SHAMPOO-1", Decimal(2), Decimal("20.00"), Decimal("23.80")),
        # the BOM's parent, not its components
        (2, "SET-1", Decimal(1), Decimal("30.00"), Decimal("35.70")),
        # 5.00 + its components 1.50 + 2.50; gross 5.95 + 1.79 + 2.98 (fMwSt 19 %)
        (3, "WAX-1", Decimal(1), Decimal("9.00"), Decimal("10.72")),
        (4, None, Decimal(1), Decimal("3.00"), Decimal("3.57")),  # a free position is goods
    ]
    assert order.net_total == Decimal("62.00")  # fWertNetto would say 64.40
    assert order.gross_total == Decimal("76.64")  # what the customer paid, kept beside it
# fmt: on


# fmt: off
def test_credited_returns_of_single_positions_take_them_off(jtl: JtlEnv):
    """JTL's returns (tRMRetourePos) refer to delivered positions (tLieferscheinPos),
    which refer to the order position (kBestellPos = kAuftragPosition). A position
    returned for credit (nGutschreiben = 1) is taken off like a cancellation, the
    returned part of a partly returned position too; a return without credit (an
    exchange, a repair) changes nothing."""
    seed(jtl.db)
    jtl.db.add_article(102, "SET-1", 1)
    jtl.db.add_order(1020, 1, "AU-1020", datetime(2024, 11, 6, 10, 0), 10, [
        Line(40, 100, "SHAMPOO-1", "Shampoo 250 ml", "4", "10.00"),
        Line(41, 101, "WAX-1", "Wachs", "1", "5.00"),
        Line(42, 101, "WAX-1", "Wachs", "2", "5.00"),
        Line(43, 102, "SET-1", "Pflegeset", "2", "30.00", bom=43),
        Line(44, 100, "SHAMPOO-1", "Shampoo 250 ml", "2", "0.00", bom=43),
        Line(45, None, None, "DHL Paket", "1", "4.90", type=SHIPPING),
    ], gross="148.63")
    jtl.db.change_order(1020, nKomplettAusgeliefert=1)
    for key, position, quantity in ((40, 40, "4"), (41, 41, "1"), (42, 42, "2"), (44, 44, "2")):
        jtl.db.deliver(key, position, quantity)
    jtl.db.add_return(1, 40, 100, "1")  # one of four shampoos
    jtl.db.add_return(2, 41, 101, "1")  # the wax, wholly
    jtl.db.add_return(3, 42, 101, "2", credit=False)  # exchanged: no credit
    jtl.db.add_return(4, 44, 100, "1")  # one set's component: one of the two sets
    connector = jtl.connector()
    _, records = read_all(connector, "orders")

    order = by_id(records)["1020"]
    assert [
        (line.line_no, line.sku, line.quantity, line.net_amount, line.gross_amount, line.state)
        for line in order.lines
    ] == [
        (1, "SHAMPOO-1", Decimal(3), Decimal("30.00"), Decimal("35.70"), None),
        (2, "SHAMPOO-1", Decimal(1), Decimal("10.00"), Decimal("11.90"), "returned"),
        (3, "WAX-1", Decimal(1), Decimal("5.00"), Decimal("5.95"), "returned"),
        (4, "WAX-1", Decimal(2), Decimal("10.00"), Decimal("11.90"), None),
        (5, "SET-1", Decimal(1), Decimal("30.00"), Decimal("35.70"), None),
        (6, "SET-1", Decimal(1), Decimal("30.00"), Decimal("35.70"), "returned"),
    ]
    assert order.net_total == Decimal("70.00")  # the live lines: 30 + 10 + 30
    assert order.state == "completed"
    assert by_id(records)["1000"].lines[0].state is None  # orders without returns as before

    # Later the rest comes back for credit: a new return re-reads the order, which is
    # returned as a whole and keeps the sum of its lines.
    cursor = read_all(connector, "orders")[0][-1].cursor
    jtl.db.add_return(5, 40, 100, "3")
    jtl.db.update("tRMRetourePos", "kRMRetourePos", 3, nGutschreiben=1)
    jtl.db.add_return(6, 44, 100, "1")
    _, records = read_all(connector, "orders", cursor)
    (order,) = records
    assert {line.state for line in order.lines} == {"returned"}
    assert (order.state, order.net_total) == ("returned", Decimal("115.00"))
# fmt: on


def test_incremental_read_sees_position_changes_new_and_cancelled_orders(jtl: JtlEnv):
    seed(jtl.db)
    connector = jtl.connector()
    batches, _ = read_all(connector, "orders")
    cursor = batches[-1].cursor

    jtl.db.change_line(2, fAnzahl=Decimal(3))  # a position of order 1000 only
    jtl.db.add_order(
        1007,
        3,
        "AU-1007",
        datetime(2024, 10, 1, 8, 0),
        11,
        [Line(10, 101, "WAX-1", "Wachs", "2", "5.00")],
    )
    jtl.db.change_order(1001, nStorno=True)

    batches, records = read_all(connector, "orders", cursor)
    orders = by_id(records)
    assert set(orders) == {"1000", "1001", "1007"}
    assert orders["1000"].lines[1].quantity == Decimal(3)
    assert orders["1000"].lines[1].net_amount == Decimal("13.50")
    assert orders["1001"].state == "cancelled"
    assert orders["1007"].company == "Beauty GmbH"
    assert batches[-1].cursor > cursor

    assert read_all(connector, "orders", batches[-1].cursor) == ([], [])


def test_a_change_in_the_eckdaten_alone_rereads_the_order(jtl: JtlEnv):
    seed(jtl.db)
    connector = jtl.connector()
    cursor = read_all(connector, "orders")[0][-1].cursor

    jtl.db.change_eckdaten(1000, nIstKomplettRetourniert=True)

    _, records = read_all(connector, "orders", cursor)
    assert [(r.external_id, r.state) for r in records] == [("1000", "returned")]


def test_incremental_customers_follow_address_changes(jtl: JtlEnv):
    seed(jtl.db)
    connector = jtl.connector()
    cursor = read_all(connector, "customers")[0][-1].cursor

    jtl.db.update("tAdresse", "kAdresse", 4, cMail="neu@schick.at")
    jtl.db.add_address(
        6, 3, standard=1, typ=1, cVorname="Carl", cMail="carl@example.de", cOrt="Köln", cISO="DE"
    )

    _, records = read_all(connector, "customers", cursor)
    customers = by_id(records)
    assert set(customers) == {"2", "3"}
    assert customers["2"].email == "neu@schick.at"
    assert (customers["3"].first_name, customers["3"].email) == ("Carl", "carl@example.de")


def test_pages_by_batch_size_and_resumes_from_any_batch_cursor(jtl: JtlEnv):
    seed(jtl.db)
    connector = jtl.connector(batch_size=3)
    batches, records = read_all(connector, "orders")

    assert len(batches) > 3
    cursors = [batch.cursor for batch in batches]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    assert {r.external_id for r in records} == {"1000", "1001", "1002", "1003", "1006"}

    resumed = list(connector.read("orders", ReadContext(cursor=cursors[1])))
    assert resumed == batches[2:]


def test_reading_writes_nothing(jtl: JtlEnv):
    seed(jtl.db)
    before = jtl.db.checksums()
    connector = jtl.connector(batch_size=2)

    assert connector.test_connection() == "connected, 3 customers, 6 orders"
    for stream in ("customers", "orders"):
        cursor = read_all(connector, stream)[0][-1].cursor
        read_all(connector, stream, cursor)

    assert jtl.db.checksums() == before


def test_the_connection_is_read_only(jtl: JtlEnv):
    seed(jtl.db)
    connector = jtl.connector()
    options = {"schema_translate_map": jtl.schema_map} if jtl.schema_map else {}
    customers = jtl.db.table("tkunde")

    with (
        pytest.raises(ConnectorError, match="connectors only read"),
        sqlsource.read_only(connector.engine, **options) as conn,
    ):
        conn.execute(update(customers).values(cKundenNr="changed"))

    assert read_all(connector, "customers")[1][0].number == "K-1001"


def test_sql_server_gets_top_and_min_active_rowversion():
    query = jtl_wawi._changes(jtl_wawi._STREAM_SOURCES["orders"], b"\0" * 8, 5000, "mssql")
    sql = str(query.compile(dialect=mssql.dialect()))
    assert "SELECT TOP" in sql and "LIMIT" not in sql
    assert sql.count("MIN_ACTIVE_ROWVERSION()") == 4
    assert "[Verkauf].[tAuftragPosition]" in sql and "[Verkauf].[tAuftragEckdaten]" in sql


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"batch_size": 0}, "at least 1"),
        ({"timezone": "Mars/Olympus"}, "Unknown time zone"),
        ({"schema_map": '{"sales": "x"}'}, "Schema names"),
        ({"schema_map": "not json"}, "not valid JSON"),
        ({"url": ""}, "Missing settings: Database URL"),
    ],
)
def test_invalid_settings_are_refused(settings, message):
    values = {"url": "sqlite://", **settings}
    with pytest.raises(ConfigurationError, match=message):
        JtlWawiConnector(values)


def test_a_cursor_that_is_no_rowversion_is_refused():
    connector = JtlWawiConnector({"url": "sqlite://"})
    with pytest.raises(ConfigurationError, match="16 hex digits"):
        next(connector.read("orders", ReadContext(cursor="2024-01-01")))

"""Test databases: a JTL-Wawi schema builder and throwaway databases on local servers.

``JtlDatabase`` creates the JTL tables the connector reads, with JTL's schema, table and
column names (Entity Framework scaffold in gstrainovic/jtl-ebihr: ``TLieferscheinPo.cs``
and ``TRmretourePo.cs`` for the returns) and emulates SQL
Server's ``rowversion``: every insert or update stamps the row's ``bRowversion`` with the
next value of one database-wide counter, as 8 big-endian bytes.

The throwaway-database helpers are shared with the generic SQL tests: SQLite files in a
temporary directory, and databases named ``<prefix>_<pid>`` on the local PostgreSQL and
MariaDB that are created for a test module and dropped afterwards. A server that is not
reachable makes the tests that need it skip with a message.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
    Unicode,
    create_engine,
    event,
    select,
    text,
    update,
)

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MARIADB_ADMIN_URL = "mysql+pymysql://root:@127.0.0.1:3306/test"
BACKENDS = ("sqlite", "postgresql", "mariadb")

# --- throwaway databases --------------------------------------------------------------


def _reachable(url: str) -> str | None:
    """None when the server answers, else the reason."""
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "not available"
        return str(error).splitlines()[0]
    finally:
        engine.dispose()
    return None


def require_server(backend: str) -> None:
    admin = {"postgresql": PG_ADMIN_URL, "mariadb": MARIADB_ADMIN_URL}[backend]
    reason = _reachable(admin)
    if reason:
        pytest.skip(f"{backend} on 127.0.0.1 is not reachable: {reason}")


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database; yields its URL and drops it afterwards."""
    require_server("postgresql")
    name = f"{prefix}_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def reset_postgres(url: str) -> None:
    """Empty a test database: drop the schemas the tests create, recreate ``public``."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text('DROP SCHEMA IF EXISTS dbo, "Verkauf", public CASCADE'))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@contextmanager
def mariadb_databases(*prefixes: str) -> Iterator[list[str]]:
    """Fresh MariaDB databases (schemas); yields their names and drops them afterwards."""
    require_server("mariadb")
    names = [f"{prefix}_{os.getpid()}" for prefix in prefixes]
    admin = create_engine(MARIADB_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
                conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        yield names
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


def mariadb_url(database: str, user: str = "root", password: str = "") -> str:
    return f"mysql+pymysql://{user}:{password}@127.0.0.1:3306/{database}"


def attach_jtl_schemas(directory: Path):
    """A connect listener that ATTACHes the SQLite files ``dbo`` and ``Verkauf``."""

    def attach(dbapi_connection: Any, _record: Any) -> None:
        for schema in ("dbo", "Verkauf"):
            path = directory / f"{schema}.sqlite"
            dbapi_connection.execute(f"ATTACH DATABASE '{path}' AS \"{schema}\"")

    return attach


def sqlite_writer(url: str, attach_from: Path | None = None) -> Engine:
    """The tests' own engine for writing test data to SQLite (without fsync, for speed)."""
    engine = create_engine(url)
    if attach_from is not None:
        event.listen(engine, "connect", attach_jtl_schemas(attach_from))

    @event.listens_for(engine, "connect")
    def no_fsync(dbapi_connection: Any, _record: Any) -> None:
        for _seq, schema, _file in dbapi_connection.execute("PRAGMA database_list").fetchall():
            dbapi_connection.execute(f'PRAGMA "{schema}".synchronous = OFF')

    return engine


# --- the JTL schema -------------------------------------------------------------------

metadata = MetaData()


def _rowversion() -> Column:
    return Column("bRowversion", LargeBinary(8), nullable=False)


Table(
    "tkunde",
    metadata,
    Column("kKunde", Integer, primary_key=True, autoincrement=False),
    Column("cKundenNr", Unicode(30)),
    Column("kKundenGruppe", Integer),
    Column("dErstellt", DateTime),
    Column("cNewsletter", Unicode(1)),
    Column("cSperre", Unicode(1)),
    _rowversion(),
    schema="dbo",
)
Table(
    "tKundenGruppe",
    metadata,
    Column("kKundenGruppe", Integer, primary_key=True, autoincrement=False),
    Column("cName", Unicode(255)),
    _rowversion(),
    schema="dbo",
)
Table(
    "tAdresse",
    metadata,
    Column("kAdresse", Integer, primary_key=True, autoincrement=False),
    Column("kKunde", Integer),
    Column("cFirma", Unicode(128)),
    Column("cAnrede", Unicode(30)),
    Column("cVorname", Unicode(255)),
    Column("cName", Unicode(255)),
    Column("cStrasse", Unicode(255)),
    Column("cPLZ", Unicode(24)),
    Column("cOrt", Unicode(255)),
    Column("cLand", Unicode(255)),
    Column("cISO", Unicode(5)),
    Column("cTel", Unicode(30)),
    Column("cMobil", Unicode(30)),
    Column("cMail", Unicode(255)),
    Column("nStandard", SmallInteger),
    Column("nTyp", SmallInteger, nullable=False),
    _rowversion(),
    schema="dbo",
)
Table(
    "tfirma",
    metadata,
    Column("kFirma", Integer, primary_key=True, autoincrement=False),
    Column("cName", Unicode(255)),
    _rowversion(),
    schema="dbo",
)
Table(
    "tFirmaHistory",
    metadata,
    Column("kFirmaHistory", Integer, primary_key=True, autoincrement=False),
    Column("kFirma", Integer, nullable=False),
    Column("cName", Unicode(255)),
    _rowversion(),
    schema="dbo",
)
Table(
    "tWarengruppe",
    metadata,
    Column("kWarengruppe", Integer, primary_key=True, autoincrement=False),
    Column("cName", Unicode(255)),
    _rowversion(),
    schema="dbo",
)
Table(
    "tArtikel",
    metadata,
    Column("kArtikel", Integer, primary_key=True, autoincrement=False),
    Column("cArtNr", Unicode(100), nullable=False),
    Column("kWarengruppe", Integer, nullable=False),
    Column("fVKNetto", Numeric(25, 13)),
    _rowversion(),
    schema="dbo",
)
Table(
    "tAuftrag",
    metadata,
    Column("kAuftrag", Integer, primary_key=True, autoincrement=False),
    Column("kKunde", Integer),
    Column("cAuftragsNr", Unicode(50), nullable=False),
    Column("nType", SmallInteger, nullable=False),
    Column("dErstellt", DateTime, nullable=False),
    Column("cWaehrung", Unicode(3)),
    Column("kFirmaHistory", Integer, nullable=False),
    Column("nStorno", Boolean, nullable=False),
    Column("nKomplettAusgeliefert", Integer, nullable=False),
    Column("nAuftragStatus", SmallInteger, nullable=False),
    _rowversion(),
    schema="Verkauf",
)
Table(
    "tAuftragEckdaten",
    metadata,
    Column("kAuftrag", Integer, primary_key=True, autoincrement=False),
    Column("fWertNetto", Numeric(25, 13), nullable=False),
    Column("fWertBrutto", Numeric(25, 13), nullable=False),
    Column("nIstKomplettRetourniert", Boolean, nullable=False),
    Column("nZahlungStatus", SmallInteger, nullable=False),
    _rowversion(),
    schema="Verkauf",
)
Table(
    "tAuftragPosition",
    metadata,
    Column("kAuftragPosition", Integer, primary_key=True, autoincrement=False),
    Column("kAuftrag", Integer, nullable=False),
    Column("kArtikel", Integer),
    Column("cArtNr", Unicode(100)),
    Column("cName", Unicode(255)),
    Column("fAnzahl", Numeric(25, 13), nullable=False),
    Column("fVkNetto", Numeric(25, 13), nullable=False),
    Column("fRabatt", Numeric(25, 13), nullable=False),
    Column("fMwSt", Numeric(25, 13), nullable=False),
    Column("nSort", Integer, nullable=False),
    Column("nType", SmallInteger, nullable=False),
    Column("kKonfigVater", Integer),
    Column("kAuftragStueckliste", Integer),
    _rowversion(),
    schema="Verkauf",
)
Table(
    "tLieferscheinPos",
    metadata,
    Column("kLieferscheinPos", Integer, primary_key=True, autoincrement=False),
    Column("kLieferschein", Integer, nullable=False),
    Column("kBestellPos", Integer),
    Column("fAnzahl", Numeric(25, 13), nullable=False),
    _rowversion(),
    schema="dbo",
)
Table(
    "tRMRetourePos",
    metadata,
    Column("kRMRetourePos", Integer, primary_key=True, autoincrement=False),
    Column("kRMRetoure", Integer, nullable=False),
    Column("kLieferscheinPos", Integer, nullable=False),
    Column("kArtikel", Integer, nullable=False),
    Column("fAnzahl", Numeric(25, 13), nullable=False),
    Column("nGutschreiben", SmallInteger, nullable=False),
    _rowversion(),
    schema="dbo",
)


# tAuftragPosition.nType, as public queries against JTL databases use them
FREE_POSITION, ARTICLE, SHIPPING, DISCOUNT, PAYMENT, PACKAGING = 0, 1, 2, 3, 5, 15


@dataclass
class Line:
    """One order position as the tests write it; ``bom`` is ``kAuftragStueckliste`` (the
    BOM parent's position key, on the parent itself too), ``konfig`` is ``kKonfigVater``."""

    key: int
    article: int | None
    sku: str | None
    name: str
    quantity: str
    price: str
    discount: str = "0"
    type: int = ARTICLE
    bom: int | None = None
    konfig: int | None = None


@dataclass
class JtlDatabase:
    """Builds and changes a JTL-Wawi database; stamps every write with a rowversion."""

    engine: Engine
    schema_map: dict[str, str] = field(default_factory=dict)
    _counter: int = 0x0000_0000_0000_07D0

    def __post_init__(self) -> None:
        with self._begin() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.execute(text("CREATE SCHEMA dbo"))
                conn.execute(text('CREATE SCHEMA "Verkauf"'))
            metadata.create_all(conn)

    @contextmanager
    def _begin(self) -> Iterator[Any]:
        with self.engine.begin() as conn:
            if self.schema_map:
                conn = conn.execution_options(schema_translate_map=self.schema_map)
            yield conn

    def table(self, name: str) -> Table:
        return next(t for t in metadata.sorted_tables if t.name == name)

    def stamp(self) -> bytes:
        self._counter += 1
        return self._counter.to_bytes(8, "big")

    def insert(self, table: str, **values: Any) -> None:
        with self._begin() as conn:
            conn.execute(self.table(table).insert().values(bRowversion=self.stamp(), **values))

    def update(self, table: str, key: str, key_value: Any, **values: Any) -> None:
        t = self.table(table)
        with self._begin() as conn:
            result = conn.execute(
                update(t).where(t.c[key] == key_value).values(bRowversion=self.stamp(), **values)
            )
            assert result.rowcount == 1, f"no {table} row with {key} = {key_value}"

    # --- master data ----------------------------------------------------------------

    def add_company(self, firma: int, name: str, history: int, history_name: str) -> None:
        self.insert("tfirma", kFirma=firma, cName=name)
        self.add_company_history(history, firma, history_name)

    def add_company_history(self, history: int, firma: int, name: str) -> None:
        self.insert("tFirmaHistory", kFirmaHistory=history, kFirma=firma, cName=name)

    def add_product_group(self, key: int, name: str) -> None:
        self.insert("tWarengruppe", kWarengruppe=key, cName=name)

    def add_article(self, key: int, sku: str, group: int) -> None:
        self.insert("tArtikel", kArtikel=key, cArtNr=sku, kWarengruppe=group)

    def add_customer_group(self, key: int, name: str) -> None:
        self.insert("tKundenGruppe", kKundenGruppe=key, cName=name)

    def add_customer(
        self, key: int, number: str, group: int | None = None, newsletter: str | None = "N"
    ) -> None:
        self.insert(
            "tkunde",
            kKunde=key,
            cKundenNr=number,
            kKundenGruppe=group,
            dErstellt=datetime(2020, 1, 1),
            cNewsletter=newsletter,
            cSperre="N",
        )

    def add_address(
        self, key: int, customer: int, *, standard: int, typ: int, **fields: Any
    ) -> None:
        self.insert(
            "tAdresse", kAdresse=key, kKunde=customer, nStandard=standard, nTyp=typ, **fields
        )

    # --- orders ---------------------------------------------------------------------

    def add_order(
        self,
        key: int,
        customer: int | None,
        number: str,
        created: datetime,
        company_history: int,
        lines: list[Line],
        *,
        gross: str | None = None,
        order_type: int = 1,
        eckdaten: bool = True,
        currency: str = "EUR",
    ) -> None:
        self.insert(
            "tAuftrag",
            kAuftrag=key,
            kKunde=customer,
            cAuftragsNr=number,
            nType=order_type,
            dErstellt=created,
            cWaehrung=currency,
            kFirmaHistory=company_history,
            nStorno=False,
            nKomplettAusgeliefert=0,
            nAuftragStatus=0,
        )
        for sort, line in enumerate(lines, start=1):
            self.add_line(key, line, sort)
        if eckdaten:  # JTL's totals: every position, shipping, fees and vouchers included
            net = sum(_line_net(line) for line in lines)
            self.insert(
                "tAuftragEckdaten",
                kAuftrag=key,
                fWertNetto=net,
                fWertBrutto=Decimal(gross) if gross is not None else net * Decimal("1.19"),
                nIstKomplettRetourniert=False,
                nZahlungStatus=0,
            )

    def add_line(self, order: int, line: Line, sort: int) -> None:
        self.insert(
            "tAuftragPosition",
            kAuftragPosition=line.key,
            kAuftrag=order,
            kArtikel=line.article,
            cArtNr=line.sku,
            cName=line.name,
            fAnzahl=Decimal(line.quantity),
            fVkNetto=Decimal(line.price),
            fRabatt=Decimal(line.discount),
            fMwSt=Decimal("19"),
            nSort=sort,
            nType=line.type,
            kKonfigVater=line.konfig,
            kAuftragStueckliste=line.bom,
        )

    def deliver(self, key: int, position: int, quantity: str, note: int = 1) -> None:
        """A delivery note position (``tLieferscheinPos``) of an order position."""
        self.insert(
            "tLieferscheinPos",
            kLieferscheinPos=key,
            kLieferschein=note,
            kBestellPos=position,
            fAnzahl=Decimal(quantity),
        )

    def add_return(
        self, key: int, delivered: int, article: int, quantity: str, *, credit: bool = True
    ) -> None:
        """A returned delivery position (``tRMRetourePos``); ``credit`` is nGutschreiben."""
        self.insert(
            "tRMRetourePos",
            kRMRetourePos=key,
            kRMRetoure=1,
            kLieferscheinPos=delivered,
            kArtikel=article,
            fAnzahl=Decimal(quantity),
            nGutschreiben=int(credit),
        )

    def change_line(self, position: int, **values: Any) -> None:
        self.update("tAuftragPosition", "kAuftragPosition", position, **values)

    def change_order(self, order: int, **values: Any) -> None:
        self.update("tAuftrag", "kAuftrag", order, **values)

    def change_eckdaten(self, order: int, **values: Any) -> None:
        self.update("tAuftragEckdaten", "kAuftrag", order, **values)

    # --- checks ---------------------------------------------------------------------

    def checksums(self) -> dict[str, str]:
        """A digest of every table's rows, to show that reading changed nothing."""
        digests = {}
        with self._begin() as conn:
            for table in metadata.sorted_tables:
                rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
                digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return digests


def _line_net(line: Line) -> Decimal:
    return (
        Decimal(line.quantity) * Decimal(line.price) * (1 - Decimal(line.discount) / 100)
    ).quantize(Decimal("0.01"))

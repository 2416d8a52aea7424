"""JTL-Wawi: read-only SQL on the Wawi's SQL Server database (PRODUCT.md D2).

Streams
- ``customers``: ``dbo.tkunde`` with its default address (``dbo.tAdresse`` with
  ``nStandard = 1``; when both the billing and the delivery address are defaults, the
  billing one, ``nTyp = 1``, wins), the customer group name (``dbo.tKundenGruppe``),
  email, phone, mobile, city and country (the ISO code ``cISO``, else the ``cLand`` name),
  and marketing consent from ``tkunde.cNewsletter`` (``Y`` yes, ``N`` no, else unknown).
- ``orders``: ``Verkauf.tAuftrag`` rows with ``nType = 1`` (0 are quotes), the gross
  total from ``Verkauf.tAuftragEckdaten.fWertBrutto`` (what the customer pays, shipping
  included), the company through ``dbo.tFirmaHistory`` -> ``dbo.tfirma`` (its current
  name), and the lines from ``Verkauf.tAuftragPosition`` with the product group through
  ``dbo.tArtikel`` -> ``dbo.tWarengruppe``. A line's net amount is ``fAnzahl * fVkNetto *
  (1 - fRabatt / 100)`` rounded to cents, its gross amount that times ``1 + fMwSt / 100``
  (the tax rate in percent), rounded to cents. Orders without a customer (``kKunde`` NULL) are
  left out.

Revenue (docs/revenue.md): an order's net total is its merchandise net, the sum of its
lines. Lines are the goods positions only, ``tAuftragPosition.nType`` 1 (article) and 0
(free position); shipping (2), coupons and discounts (3), payment surcharges and
discounts (5), packaging (15) and every other type are neither lines nor revenue.
``tAuftragEckdaten.fWertNetto`` is not used: it includes shipping and fees.
Parts are not counted twice:
- a bill of materials (Stückliste) is the parent position (``kAuftragStueckliste`` equal
  to its own ``kAuftragPosition``) followed by its components (``kAuftragStueckliste``
  pointing at the parent). The parent is the article the customer bought and carries the
  price on the invoice; the components are positions for picking and stock and are left
  out.
- a configurator article is the parent position and its chosen components
  (``kKonfigVater`` pointing at the parent). The components are priced choices the
  customer pays for, so their net and gross amounts are added to the parent's line, which stays
  the one product bought; a component whose parent is not among the goods positions is
  a line of its own.

Returns of single positions: JTL's returns (``dbo.tRMRetourePos``) refer to a delivered
position (``kLieferscheinPos`` -> ``dbo.tLieferscheinPos``), which refers to the order
position (``tLieferscheinPos.kBestellPos`` = ``tAuftragPosition.kAuftragPosition``). A
return position to be credited (``nGutschreiben = 1``) takes its quantity off its order
position like a cancellation: a wholly returned position is a line in the state
``returned``; a partly returned one becomes two lines, the part kept and the part
returned (amounts split by quantity, to the cent). A return without credit (an exchange,
a repair) changes nothing. A bill of materials counts as returned for as many whole sets
as all its components (or the parent position itself) came back for; a configurator
article follows its parent position (returns of single chosen components alone are not
taken off). The order's net total is the sum of its live lines.

Order state: ``nStorno = 1`` -> cancelled; else ``tAuftragEckdaten.nIstKomplettRetourniert
= 1``, or every line returned for credit -> returned; else ``nKomplettAusgeliefert = 1`` ->
completed; else open.

Incremental reads: SQL Server stamps every row it writes with a database-wide, ever
increasing 8-byte ``rowversion`` (the ``bRowversion`` columns). A stream's cursor is the
hex of the largest rowversion read. An order counts as changed when its own row, its
Eckdaten row, any of its positions or any return of its positions carries a rowversion
above the cursor (a customer:
its ``tkunde`` row or any of its ``tAdresse`` rows). The change query is a UNION ALL of
``(key, bRowversion)`` over those tables, each filtered with ``bRowversion > :cursor``,
ordered by the rowversion and limited to the batch size; every key on that page is then
read in full and the page's last rowversion becomes the batch's cursor. Rowversions are
unique, so paging by ``>`` neither skips nor repeats rows; an order whose rows spread over
two pages is simply read twice (records are upserted). On SQL Server the change query also
stops below ``MIN_ACTIVE_ROWVERSION()`` so a row of a still open transaction, which has a
smaller stamp than rows committed after it, is not stepped over. Not seen by the cursor:
deleted rows and renamed customer groups, articles, product groups or companies.
``ReadContext.lookback_since`` is not needed and ignored.

Read-only: see ``sqlsource`` (on SQL Server use a login that is only in db_datareader).

Table and column names were checked against public code, not guessed:
- gstrainovic/jtl-ebihr, ``JtlDbModels/EazyBusinessContext.cs`` (an Entity Framework
  scaffold of a JTL-Wawi database): ``ToTable("tAuftrag", "Verkauf")``,
  ``ToTable("tAuftragPosition", "Verkauf")``, ``ToTable("tkunde")`` (dbo) and the
  ``HasColumnName`` of kAuftrag, cAuftragsNr, kKunde, dErstellt (datetime), kFirmaHistory,
  nStorno, nType, nKomplettAusgeliefert, cWaehrung, kAuftragPosition, kArtikel, cArtNr,
  cName, fAnzahl, fVkNetto, fRabatt, nSort, cKundenNr, and ``bRowversion`` declared
  ``IsRowVersion()`` on all of these tables.
- the entity classes of the same scaffold: ``TAuftragEckdaten.cs`` (kAuftrag, fWertNetto,
  fWertBrutto, nIstKomplettRetourniert, bRowversion), ``TAdresse.cs`` (kAdresse, kKunde,
  cFirma, cVorname, cName, cTel, cMobil, cMail, cOrt, cLand, cIso, nStandard, nTyp,
  bRowversion; we read cAnrede too, "Herr"/"Frau"/"Firma" as JTL-Wawi's address form
  writes it), ``Tkunde.cs`` (kKundenGruppe), ``TKundenGruppe.cs`` (kKundenGruppe,
  cName), ``TArtikel.cs`` (kArtikel, cArtNr, kWarengruppe), ``TWarengruppe.cs``
  (kWarengruppe, cName), ``TFirmaHistory.cs`` (kFirmaHistory, kFirma, cName) and
  ``Tfirma.cs`` (kFirma, cName), ``TLieferscheinPo.cs`` (dbo.tLieferscheinPos:
  kLieferscheinPos, kBestellPos, bRowversion) and ``TRmretourePo.cs`` (dbo.tRMRetourePos:
  kRMRetourePos, kLieferscheinPos, fAnzahl, nGutschreiben, bRowversion). The join
  ``tAuftragPosition.kAuftragPosition = tLieferscheinPos.kBestellPos`` and
  ``tLieferscheinPos.kLieferscheinPos = tRMRetourePos.kLieferscheinPos`` is the one of a
  public returns query on a live JTL database (the one cited below), which also reads
  ``nGutschreiben = 1`` as "to be credited".
- the meaning of values (nType 0 = quote / 1 = order, nStorno = 1 cancelled,
  nKomplettAusgeliefert 0 = not yet delivered / 1 = delivered, tAdresse nStandard = 1
  default and nTyp 1 = billing / 0 = delivery, fRabatt in percent) comes from several
  independent public queries against JTL databases found by code search, not from JTL's
  own documentation. Likewise the position types (0 free position, 1 article, 2 shipping,
  3 discount, 5 payment discount, 15 packaging: the commented ``nType IN (0, 1)`` filter of
  a public duplicate-order check on a live JTL database; ``nType NOT IN (2, 15)`` "ignore
  shipping and cartons" of a public returns query), the bill of materials
  (``kAuftragStueckliste = kAuftragPosition`` marks the parent in a public returns query)
  and ``cNewsletter = 'Y'`` (a public newsletter tool reading ``tkunde``; JTL-Shop's
  customer import writes ``Y``/``N``). ``TAuftragPosition.cs`` of the scaffold declares
  nType, kKonfigVater, kAuftragStueckliste and fMwSt, ``Tkunde.cs`` cNewsletter. That
  ``kKonfigVater`` holds the parent's ``kAuftragPosition`` is read from its name (the
  scaffold declares no relation for it); not confirmed by a public query.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    Select,
    Table,
    func,
    literal_column,
    select,
    union_all,
)

from . import sqlsource
from .base import N_, Batch, ConfigurationError, Connector, Message, ReadContext, SettingField
from .records import (
    VOID_STATES,
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    OrderState,
    Record,
)
from .registry import register

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ORDER_TYPE_ORDER = 1  # tAuftrag.nType: 0 = quote (Angebot), 1 = order (Auftrag)
# tAuftragPosition.nType of goods: 0 = free position (Freiposition), 1 = article (Artikel)
GOODS_POSITION_TYPES = (0, 1)
NEWSLETTER = {"Y": True, "N": False}  # tkunde.cNewsletter
BILLING_ADDRESS = 1  # tAdresse.nTyp: 1 = billing (Rechnung), 0 = delivery (Lieferung)

# Columns are declared without types: values arrive as the driver returns them and are
# converted in Python, identically on SQL Server, PostgreSQL, MariaDB and SQLite.
_metadata = MetaData()


def _table(name: str, schema: str, columns: str) -> Table:
    return Table(name, _metadata, *(Column(c) for c in columns.split()), schema=schema)


KUNDE = _table("tkunde", "dbo", "kKunde cKundenNr kKundenGruppe cNewsletter bRowversion")
KUNDENGRUPPE = _table("tKundenGruppe", "dbo", "kKundenGruppe cName")
ADRESSE = _table(
    "tAdresse",
    "dbo",
    "kAdresse kKunde nStandard nTyp cFirma cAnrede cVorname cName cMail cTel cMobil cOrt cISO"
    " cLand bRowversion",
)
AUFTRAG = _table(
    "tAuftrag",
    "Verkauf",
    "kAuftrag cAuftragsNr kKunde nType dErstellt nStorno nKomplettAusgeliefert cWaehrung"
    " kFirmaHistory bRowversion",
)
ECKDATEN = _table(
    "tAuftragEckdaten",
    "Verkauf",
    "kAuftrag fWertBrutto nIstKomplettRetourniert bRowversion",
)
POSITION = _table(
    "tAuftragPosition",
    "Verkauf",
    "kAuftragPosition kAuftrag kArtikel nType kAuftragStueckliste kKonfigVater nSort cArtNr"
    " cName fAnzahl fVkNetto fRabatt fMwSt bRowversion",
)
ARTIKEL = _table("tArtikel", "dbo", "kArtikel cArtNr kWarengruppe")
WARENGRUPPE = _table("tWarengruppe", "dbo", "kWarengruppe cName")
FIRMA_HISTORY = _table("tFirmaHistory", "dbo", "kFirmaHistory kFirma cName")
FIRMA = _table("tfirma", "dbo", "kFirma cName")
LIEFERSCHEINPOS = _table("tLieferscheinPos", "dbo", "kLieferscheinPos kBestellPos bRowversion")
RETOUREPOS = _table(
    "tRMRetourePos", "dbo", "kRMRetourePos kLieferscheinPos fAnzahl nGutschreiben bRowversion"
)
CREDITED = 1  # tRMRetourePos.nGutschreiben: 1 = the returned position is credited
_RETURNED_POSITIONS = RETOUREPOS.join(
    LIEFERSCHEINPOS, LIEFERSCHEINPOS.c.kLieferscheinPos == RETOUREPOS.c.kLieferscheinPos
).join(POSITION, POSITION.c.kAuftragPosition == LIEFERSCHEINPOS.c.kBestellPos)

# Per stream: the tables whose rowversions mark a change, the stream's key (a column of
# the table, or of the tables it is joined with), a filter, the join (None: the table).
_STREAM_SOURCES: dict[str, tuple[tuple[Table, Column, Any, Any], ...]] = {
    "customers": (
        (KUNDE, KUNDE.c.kKunde, None, None),
        (ADRESSE, ADRESSE.c.kKunde, ADRESSE.c.kKunde.is_not(None), None),
    ),
    "orders": (
        (AUFTRAG, AUFTRAG.c.kAuftrag, AUFTRAG.c.nType == ORDER_TYPE_ORDER, None),
        (ECKDATEN, ECKDATEN.c.kAuftrag, None, None),
        (POSITION, POSITION.c.kAuftrag, None, None),
        (RETOUREPOS, POSITION.c.kAuftrag, None, _RETURNED_POSITIONS),  # a new return
    ),
}


def encode_rowversion(value: bytes) -> str:
    return bytes(value).hex()


def decode_rowversion(cursor: str | None) -> bytes | None:
    if cursor is None:
        return None
    try:
        value = bytes.fromhex(cursor)
    except ValueError:
        value = b""
    if len(value) != 8:
        raise ConfigurationError(
            N_("Invalid JTL-Wawi cursor %(cursor)r: expected 16 hex digits."), cursor=cursor
        )
    return value


def _changes(
    sources: Sequence[tuple[Table, Column, Any, Any]], after: bytes | None, limit: int, dialect: str
) -> Select:
    """(key, rowversion) of rows written after ``after``, oldest first, one page."""
    parts = []
    for table, key, condition, joined in sources:
        part = select(key.label("k"), table.c.bRowversion.label("rv"))
        if joined is not None:
            part = part.select_from(joined)
        if condition is not None:
            part = part.where(condition)
        if after is not None:
            part = part.where(table.c.bRowversion > after)
        if dialect == "mssql":
            part = part.where(table.c.bRowversion < literal_column("MIN_ACTIVE_ROWVERSION()"))
        parts.append(part)
    page = union_all(*parts).subquery("changes")
    return select(page.c.k, page.c.rv).order_by(page.c.rv).limit(limit)


@register
class JtlWawiConnector(sqlsource.EngineOwner, Connector):
    kind = "jtl_wawi"
    label = N_("JTL-Wawi (SQL Server)")
    streams = ("customers", "orders")
    settings_schema = (
        SettingField(
            "url",
            N_("Database URL"),
            kind="password",
            secret=True,
            help=N_(
                "SQLAlchemy URL of the JTL database, e.g. "
                "mssql+pyodbc://reader:secret@wawi-dsn (use a login with db_datareader only)."
            ),
        ),
        SettingField(
            "batch_size",
            N_("Records per batch"),
            kind="int",
            required=False,
            default=5000,
        ),
        SettingField(
            "timezone",
            N_("Time zone of the Wawi"),
            required=False,
            default="Europe/Berlin",
            help=N_("JTL stores local times without a zone; they are read in this zone."),
        ),
        SettingField(
            "schema_map",
            N_("Schema names"),
            kind="json",
            required=False,
            default=None,
            help=N_(
                "Only when the tables are not in the schemas dbo and Verkauf, e.g. "
                '{"dbo": "jtl", "Verkauf": "jtl_verkauf"}.'
            ),
        ),
    )

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values = super().validate_settings(settings)
        values["batch_size"] = sqlsource.positive_int(values["batch_size"], "Records per batch")
        values["timezone"] = sqlsource.load_timezone(values["timezone"])
        schema_map = sqlsource.json_object(values["schema_map"], "Schema names")
        unknown = set(schema_map) - {"dbo", "Verkauf"}
        if unknown or not all(isinstance(v, str) and v for v in schema_map.values()):
            raise ConfigurationError(
                N_('Schema names may only map "dbo" and "Verkauf" to schema names.')
            )
        values["schema_map"] = schema_map
        return values

    def _connect(self) -> Any:
        options = {}
        if self.settings["schema_map"]:
            options["schema_translate_map"] = self.settings["schema_map"]
        return sqlsource.read_only(self.engine, **options)

    def test_connection(self) -> str:
        with self._connect() as conn:
            customers = conn.execute(select(func.count()).select_from(KUNDE)).scalar_one()
            orders = conn.execute(
                select(func.count()).select_from(AUFTRAG).where(AUFTRAG.c.nType == ORDER_TYPE_ORDER)
            ).scalar_one()
        return Message(
            N_("connected, %(customers)s customers, %(orders)s orders"),
            customers=customers,
            orders=orders,
        )

    def read(self, stream: str, context: ReadContext) -> Iterator[Batch]:
        if stream not in self.streams:
            raise ConfigurationError(N_("JTL-Wawi has no stream %(stream)r."), stream=stream)
        after = decode_rowversion(context.cursor)
        limit = self.settings["batch_size"]
        while True:
            with self._connect() as conn:
                query = _changes(_STREAM_SOURCES[stream], after, limit, conn.dialect.name)
                changes = conn.execute(query).all()
                if not changes:
                    return
                keys = list(dict.fromkeys(row.k for row in changes))
                loader = self._customers if stream == "customers" else self._orders
                records = loader(conn, keys)
            after = bytes(changes[-1].rv)
            yield Batch(stream, records, encode_rowversion(after))
            if len(changes) < limit:
                return

    # --- customers ---------------------------------------------------------------------

    def _customers(self, conn: Connection, keys: list[Any]) -> list[Record]:
        records: list[Record] = []
        for chunk in sqlsource.chunks(keys):
            customers = conn.execute(
                select(
                    KUNDE.c.kKunde,
                    KUNDE.c.cKundenNr,
                    KUNDE.c.cNewsletter,
                    KUNDENGRUPPE.c.cName.label("group_name"),
                )
                .select_from(
                    KUNDE.outerjoin(
                        KUNDENGRUPPE, KUNDENGRUPPE.c.kKundenGruppe == KUNDE.c.kKundenGruppe
                    )
                )
                .where(KUNDE.c.kKunde.in_(chunk))
                .order_by(KUNDE.c.kKunde)
            ).all()
            addresses = _default_addresses(conn, chunk)
            for row in customers:
                address = addresses.get(row.kKunde, {})
                records.append(_customer(row, address))
        return records

    # --- orders ------------------------------------------------------------------------

    def _orders(self, conn: Connection, keys: list[Any]) -> list[Record]:
        records: list[Record] = []
        for chunk in sqlsource.chunks(keys):
            lines = _order_lines(conn, chunk)
            for row in conn.execute(_order_headers(chunk)).all():
                if row.kKunde is None:
                    continue
                records.append(_order(row, lines.get(row.kAuftrag, ()), self.settings["timezone"]))
        return records


def _default_addresses(conn: Connection, customer_keys: Sequence[Any]) -> dict[Any, Any]:
    rows = conn.execute(
        select(ADRESSE).where(ADRESSE.c.kKunde.in_(customer_keys), ADRESSE.c.nStandard == 1)
    ).all()
    chosen: dict[Any, Any] = {}
    for row in sorted(rows, key=lambda r: (r.nTyp != BILLING_ADDRESS, r.kAdresse)):
        chosen.setdefault(row.kKunde, row._mapping)
    return chosen


def _customer(row: Any, address: Mapping[str, Any]) -> CustomerRecord:
    text = sqlsource.text_or_none
    return CustomerRecord(
        external_id=sqlsource.identifier(row.kKunde),
        number=text(row.cKundenNr),
        first_name=text(address.get("cVorname")),
        last_name=text(address.get("cName")),
        company_name=text(address.get("cFirma")),
        salutation=text(address.get("cAnrede")),
        email=text(address.get("cMail")),
        phone=text(address.get("cTel")),
        mobile=text(address.get("cMobil")),
        city=text(address.get("cOrt")),
        country=text(address.get("cISO")) or text(address.get("cLand")),
        customer_group=text(row.group_name),
        marketing_consent=NEWSLETTER.get((text(row.cNewsletter) or "").upper()),
    )


def _order_headers(order_keys: Sequence[Any]) -> Select:
    company = func.coalesce(FIRMA.c.cName, FIRMA_HISTORY.c.cName).label("company")
    joined = (
        AUFTRAG.outerjoin(ECKDATEN, ECKDATEN.c.kAuftrag == AUFTRAG.c.kAuftrag)
        .outerjoin(FIRMA_HISTORY, FIRMA_HISTORY.c.kFirmaHistory == AUFTRAG.c.kFirmaHistory)
        .outerjoin(FIRMA, FIRMA.c.kFirma == FIRMA_HISTORY.c.kFirma)
    )
    return (
        select(
            AUFTRAG.c.kAuftrag,
            AUFTRAG.c.cAuftragsNr,
            AUFTRAG.c.kKunde,
            AUFTRAG.c.dErstellt,
            AUFTRAG.c.nStorno,
            AUFTRAG.c.nKomplettAusgeliefert,
            AUFTRAG.c.cWaehrung,
            ECKDATEN.c.fWertBrutto,
            ECKDATEN.c.nIstKomplettRetourniert,
            company,
        )
        .select_from(joined)
        .where(AUFTRAG.c.kAuftrag.in_(order_keys), AUFTRAG.c.nType == ORDER_TYPE_ORDER)
        .order_by(AUFTRAG.c.kAuftrag)
    )


def _order_lines(conn: Connection, order_keys: Sequence[Any]) -> dict[Any, list[OrderLineRecord]]:
    """The goods lines per order: BOM components left out, configurator components added
    to their parent's line, credited returns taken off (see the module's docstring)."""
    all_rows = conn.execute(
        select(
            POSITION.c.kAuftragPosition,
            POSITION.c.kAuftrag,
            POSITION.c.kKonfigVater,
            POSITION.c.kAuftragStueckliste,
            POSITION.c.cArtNr,
            POSITION.c.cName,
            POSITION.c.fAnzahl,
            POSITION.c.fVkNetto,
            POSITION.c.fRabatt,
            POSITION.c.fMwSt,
            ARTIKEL.c.cArtNr.label("article_number"),
            WARENGRUPPE.c.cName.label("product_group"),
        )
        .select_from(
            POSITION.outerjoin(ARTIKEL, ARTIKEL.c.kArtikel == POSITION.c.kArtikel).outerjoin(
                WARENGRUPPE, WARENGRUPPE.c.kWarengruppe == ARTIKEL.c.kWarengruppe
            )
        )
        .where(POSITION.c.kAuftrag.in_(order_keys), POSITION.c.nType.in_(GOODS_POSITION_TYPES))
        .order_by(POSITION.c.kAuftrag, POSITION.c.nSort, POSITION.c.kAuftragPosition)
    ).all()
    rows = [row for row in all_rows if not _is_bom_component(row)]
    returned = _returned_quantities(conn, order_keys, all_rows)
    amounts = {row.kAuftragPosition: _amounts(row) for row in rows}  # (net, gross)
    for row in rows:  # configurator components into their parent
        if row.kKonfigVater in amounts:
            parent, part = amounts[row.kKonfigVater], amounts[row.kAuftragPosition]
            amounts[row.kKonfigVater] = (parent[0] + part[0], parent[1] + part[1])
    lines: dict[Any, list[OrderLineRecord]] = {}
    for row in rows:
        if row.kKonfigVater in amounts:
            continue
        order_lines = lines.setdefault(row.kAuftrag, [])
        net, gross = amounts[row.kAuftragPosition]
        quantity = sqlsource.to_decimal(row.fAnzahl) or Decimal(0)
        back = returned.get(row.kAuftragPosition, Decimal(0))
        if not back or back < quantity:  # what was kept
            kept = quantity - back
            part = _part(net, gross, kept / quantity) if back else (net, gross)
            order_lines.append(_line(row, len(order_lines) + 1, *part, kept))
            net, gross = net - part[0], gross - part[1]
        if back:  # what came back for credit
            order_lines.append(_line(row, len(order_lines) + 1, net, gross, back, "returned"))
    return lines


def _is_bom_component(row: Any) -> bool:
    bom = row.kAuftragStueckliste
    return bom is not None and bom != row.kAuftragPosition


def _returned_quantities(
    conn: Connection, order_keys: Sequence[Any], rows: Sequence[Any]
) -> dict[Any, Decimal]:
    """Position key -> its quantity returned for credit (at most the quantity ordered),
    from the credited returns of its delivered quantities; a bill of materials by its
    components: as many whole sets as all its components came back for."""
    credited = conn.execute(
        select(LIEFERSCHEINPOS.c.kBestellPos, func.sum(RETOUREPOS.c.fAnzahl))
        .select_from(_RETURNED_POSITIONS)
        .where(POSITION.c.kAuftrag.in_(order_keys), RETOUREPOS.c.nGutschreiben == CREDITED)
        .group_by(LIEFERSCHEINPOS.c.kBestellPos)
    ).all()
    ordered = {row.kAuftragPosition: sqlsource.to_decimal(row.fAnzahl) for row in rows}
    back: dict[Any, Decimal] = {}
    for position, quantity in credited:
        if ordered.get(position):
            back[position] = min(sqlsource.to_decimal(quantity) or Decimal(0), ordered[position])
    shares: dict[Any, list[Decimal]] = {}  # BOM parent -> its components' returned shares
    for row in rows:
        if _is_bom_component(row) and ordered.get(row.kAuftragPosition):
            share = back.get(row.kAuftragPosition, Decimal(0)) / ordered[row.kAuftragPosition]
            shares.setdefault(row.kAuftragStueckliste, []).append(share)
    for parent, parts in shares.items():
        if ordered.get(parent):
            sets = (min(parts) * ordered[parent]).to_integral_value(rounding=ROUND_FLOOR)
            back[parent] = max(back.get(parent, Decimal(0)), sets)
    return {key: quantity for key, quantity in back.items() if quantity > 0}


def _part(net: Decimal, gross: Decimal, share: Decimal) -> tuple[Decimal, Decimal]:
    return (net * share).quantize(CENT, ROUND_HALF_UP), (gross * share).quantize(
        CENT, ROUND_HALF_UP
    )


def _amounts(row: Any) -> tuple[Decimal, Decimal]:
    """A position's (net, gross), each rounded to cents."""
    quantity = sqlsource.to_decimal(row.fAnzahl) or Decimal(0)
    price = sqlsource.to_decimal(row.fVkNetto) or Decimal(0)
    discount = sqlsource.to_decimal(row.fRabatt) or Decimal(0)
    tax = sqlsource.to_decimal(row.fMwSt) or Decimal(0)
    net = quantity * price * (1 - discount / HUNDRED)
    return net.quantize(CENT, ROUND_HALF_UP), (net * (1 + tax / HUNDRED)).quantize(
        CENT, ROUND_HALF_UP
    )


def _line(
    row: Any,
    line_no: int,
    net: Decimal,
    gross: Decimal,
    quantity: Decimal,
    state: OrderState | None = None,
) -> OrderLineRecord:
    return OrderLineRecord(
        line_no=line_no,
        net_amount=net,
        gross_amount=gross,
        quantity=quantity,
        state=state,
        sku=sqlsource.text_or_none(row.cArtNr) or sqlsource.text_or_none(row.article_number),
        product_name=sqlsource.text_or_none(row.cName),
        product_group=sqlsource.text_or_none(row.product_group),
    )


def _state(row: Any, lines: Sequence[OrderLineRecord] = ()) -> str:
    if row.nStorno:
        return "cancelled"
    if row.nIstKomplettRetourniert or (lines and all(li.state == "returned" for li in lines)):
        return "returned"
    if row.nKomplettAusgeliefert == 1:
        return "completed"
    return "open"


def _money(value: Any) -> Decimal | None:
    number = sqlsource.to_decimal(value)
    return None if number is None else number.quantize(CENT, ROUND_HALF_UP)


def _order(row: Any, lines: Sequence[OrderLineRecord], local: ZoneInfo) -> OrderRecord:
    # The live lines; a wholly returned order keeps the sum of its lines (docs/revenue.md).
    live = [line for line in lines if line.state not in VOID_STATES] or lines
    return OrderRecord(
        external_id=sqlsource.identifier(row.kAuftrag),
        customer_external_id=sqlsource.identifier(row.kKunde),
        ordered_at=sqlsource.to_utc(row.dErstellt, local),
        net_total=sum((line.net_amount for line in live), Decimal("0.00")),
        gross_total=_money(row.fWertBrutto),
        state=_state(row, lines),
        number=sqlsource.text_or_none(row.cAuftragsNr),
        company=sqlsource.text_or_none(row.company),
        currency=sqlsource.text_or_none(row.cWaehrung) or "EUR",
        lines=tuple(lines),
    )

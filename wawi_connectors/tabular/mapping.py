"""Target fields of an order-line file, header synonyms, mapping proposal and signature."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..base import N_, ConfigurationError, Message

# Target field -> label for messages, in the order the fields are shown to users.
TARGET_FIELDS: dict[str, str] = {
    "customer_number": N_("customer number"),
    "salutation": N_("salutation"),
    "first_name": N_("first name"),
    "last_name": N_("last name"),
    "company_name": N_("company name"),
    "email": N_("email address"),
    "phone": N_("phone"),
    "mobile": N_("mobile"),
    "city": N_("city"),
    "country": N_("country"),
    "customer_group": N_("customer group"),
    "marketing_consent": N_("marketing consent"),
    "order_number": N_("order number"),
    "ordered_at": N_("order date"),
    "company": N_("company / shop"),
    "state": N_("order status"),
    "line_type": N_("position type"),
    "sku": N_("SKU"),
    "product_name": N_("product name"),
    "product_group": N_("product group"),
    "quantity": N_("quantity"),
    "net_amount": N_("net amount"),
    "gross_amount": N_("gross amount"),
    "currency": N_("currency"),
}
REQUIRED_FIELDS: tuple[str, ...] = ("customer_number", "order_number", "ordered_at", "net_amount")

# Header names per target, best first; compared after ``normalise_header``.
# "Firma" alone is the selling company (as in JTL and most German ERP exports); the
# customer's own company is "Firmenname", "Kundenfirma", "Firma (Kunde)" and the like.
# Some exports say "Firma" for the customer's company, "Mandant" for the seller: where
# the first rows show it, ``propose`` goes by the values (``_company_roles``).
_SYNONYM_TABLE = """
customer_number: Kundennummer, Kunden-Nr., KdNr, Kunden-ID, Debitorennummer, Debitor,
    customer number, customer no, customer id
salutation: Anrede, Salutation, title
first_name: Vorname, first name, given name
last_name: Nachname, Name, Familienname, last name, surname
company_name: Firmenname, Kundenfirma, Firma (Kunde), Firmenbezeichnung, company name,
    customer company, billing company
email: E-Mail, E-Mail-Adresse, Mail, email address
phone: Telefon, Tel., Telefonnummer, phone, phone number, telephone
mobile: Mobil, Handy, Mobilnummer, Mobiltelefon, Handynummer, mobile, mobile phone, cell phone
city: Ort, Stadt, Wohnort, city, town
country: Land, Ländercode, Land ISO, country, country code
customer_group: Kundengruppe, Kundenkategorie, customer group
marketing_consent: Newsletter, Werbeeinwilligung, Einwilligung, Werbeerlaubnis,
    marketing consent, marketing opt-in, accepts marketing, opt-in
order_number: Auftragsnummer, Auftrags-Nr., Bestellnummer, Bestell-Nr., Belegnummer,
    Beleg-Nr., Rechnungsnummer, Rechnungs-Nr., order number, order no, order id, order,
    invoice number
ordered_at: Belegdatum, Bestelldatum, Auftragsdatum, Datum, Rechnungsdatum, order date,
    ordered, ordered at, date, created at, invoice date
company: Firma, Mandant, Shop, Verkaufskanal, Plattform, company, store, sales channel,
    channel, platform
state: Status, Positionsstatus, Auftragsstatus, Bestellstatus, Belegstatus, order status,
    line status, item status, state
line_type: Positionstyp, Positionsart, Art der Position, position type, line type, item type
sku: Artikelnummer, Art.-Nr., Artikel-Nr., SKU, item number, product number, product id
product_name: Artikelname, Bezeichnung, Artikelbezeichnung, product name, product,
    item name, description
product_group: Warengruppe, Kategorie, Artikelgruppe, product group, category,
    product category
quantity: Menge, Anzahl, Stückzahl, quantity, qty
net_amount: Netto, Nettobetrag, Umsatz netto, Nettoumsatz, Gesamt netto, Gesamtpreis netto,
    Position netto, net, net amount, net total, net revenue
gross_amount: Brutto, Bruttobetrag, Umsatz brutto, Bruttoumsatz, Gesamt brutto,
    Gesamtpreis brutto, Position brutto, gross, gross amount, gross total
currency: Währung, currency, currency code
"""

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_header(header: str) -> str:
    """``"Kunden-Nr."`` -> ``"kundennr"``: lower case, umlauts spelled out, no punctuation."""
    return _NOT_ALNUM.sub("", str(header).casefold().translate(_UMLAUTS))


def _synonyms(table: str) -> dict[str, tuple[str, ...]]:
    synonyms = {}
    for entry in re.split(r"\n(?=\w)", table.strip()):
        target, names = entry.split(":")
        synonyms[target] = tuple(normalise_header(name) for name in names.split(","))
    return synonyms


SYNONYMS = _synonyms(_SYNONYM_TABLE)


def propose_mapping(headers: Sequence[str]) -> dict[str, str]:
    """Guess target -> header from German and English header names."""
    first_by_key: dict[str, str] = {}
    for header in headers:
        first_by_key.setdefault(normalise_header(header), header)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for target, synonyms in SYNONYMS.items():
        for synonym in synonyms:
            header = first_by_key.get(synonym)
            if header is not None and header not in used:
                mapping[target] = header
                used.add(header)
                break
    return mapping


# Telling the seller from the customers' companies by the values of the first rows:
# a seller column repeats a few names across many customers, a customer-company column
# has a name of its own per customer. Below MIN_CUSTOMERS the rows do not tell.
MIN_CUSTOMERS = 5
SELLER_RATIO = 0.25  # at most this many distinct names per customer: a seller
CUSTOMER_RATIO = 0.5  # at least this many: the customers' companies


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposed mapping, and per target why the proposal is unsure about its column:
    ``seller`` / ``customer`` (chosen by its values, against the header names: a
    seller's or the customers' company names) or ``unclear`` (the rows do not tell)."""

    mapping: dict[str, str]
    hints: dict[str, str]


def propose(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> Proposal:
    """The proposal from the header names, with the company columns checked against
    the values of ``rows`` (the first rows of the file, as text)."""
    mapping = propose_mapping(headers)
    roles = _company_roles(headers, rows, mapping.get("customer_number"))
    if not roles:
        return Proposal(mapping, {})
    by_name = {t: mapping.pop(t) for t in ("company", "company_name") if t in mapping}
    hints: dict[str, str] = {}
    for target, role in (("company", "seller"), ("company_name", "customer")):
        named = by_name.get(target)
        # the column whose values say so, named for this target first; else the named
        # one, if its values do not say it is the other
        fitting = [h for h in roles if roles[h] == role and h not in mapping.values()]
        fitting.sort(key=lambda h: h != named)
        if fitting:
            mapping[target] = fitting[0]
            if fitting[0] != named:
                hints[target] = role
        elif named is not None and roles[named] is None and named not in mapping.values():
            mapping[target] = named
            hints[target] = "unclear"
    return Proposal(mapping, hints)


def _company_roles(
    headers: Sequence[str], rows: Sequence[Sequence[str]], customer_header: str | None
) -> dict[str, str | None]:
    """Each company-like column (by name) -> "seller", "customer" or None (unclear)."""
    if customer_header is None:
        return {}
    names = SYNONYMS["company"] + SYNONYMS["company_name"]
    columns = [p for p, h in enumerate(headers) if normalise_header(h) in names]
    columns.sort(key=lambda p: names.index(normalise_header(headers[p])))
    customer = headers.index(customer_header)
    roles: dict[str, str | None] = {}
    for position in columns:
        pairs = {
            (row[customer], row[position])
            for row in rows
            if len(row) > max(customer, position) and row[customer] and row[position]
        }
        customers = len({c for c, _ in pairs})
        ratio = len({v for _, v in pairs}) / customers if customers >= MIN_CUSTOMERS else None
        if ratio is None or SELLER_RATIO < ratio < CUSTOMER_RATIO:
            roles[headers[position]] = None
        else:
            roles[headers[position]] = "seller" if ratio <= SELLER_RATIO else "customer"
    return roles


def mapping_signature(headers: Sequence[str]) -> str:
    """Stable hash of the file's header names, for reusing a saved mapping.

    Order-insensitive (a mapping names headers, so it stays valid when columns move),
    case/space/punctuation-insensitive like the proposal, and blank headers (a
    trailing separator) are ignored.
    """
    keys = sorted(k for k in (normalise_header(h) for h in headers) if k)
    return hashlib.sha256("\x1f".join(keys).encode()).hexdigest()[:16]


def parse_mapping(value: Any) -> dict[str, str] | None:
    """The ``mapping`` setting as a dict, from a dict or its JSON text; None if empty."""
    if value in (None, "", {}):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ConfigurationError(
                N_("The column mapping is not valid JSON: %(error)s"), error=str(exc)
            ) from None
    if not isinstance(value, Mapping):
        raise ConfigurationError(N_("The column mapping must map field names to column headers"))
    unknown = sorted(set(value) - set(TARGET_FIELDS))
    if unknown:
        raise ConfigurationError(
            N_("Unknown fields in the column mapping: %(fields)s"), fields=unknown
        )
    return {str(k): str(v) for k, v in value.items() if v not in (None, "")}


@dataclass(frozen=True, slots=True)
class Layout:
    """Which file column (0-based position) holds which target field."""

    headers: tuple[str, ...]
    positions: dict[str, int]

    def has(self, target: str) -> bool:
        return target in self.positions

    def header(self, target: str) -> str:
        return self.headers[self.positions[target]]

    def of(self, *targets: str) -> list[str]:
        """The given targets that are mapped, in the given order."""
        return [t for t in targets if t in self.positions]


def resolve_layout(headers: Sequence[str], mapping: Mapping[str, str]) -> Layout:
    """Find each mapped header in the file (exactly, else normalised); check required fields."""
    exact = {}
    normalised = {}
    for position, header in enumerate(headers):
        exact.setdefault(header, position)
        normalised.setdefault(normalise_header(header), position)
    positions: dict[str, int] = {}
    absent = []
    for target, header in mapping.items():
        position = exact.get(header, normalised.get(normalise_header(header)))
        if position is None:
            absent.append(
                Message(
                    N_("'%(header)s' (%(field)s)"),
                    header=header,
                    field=Message(TARGET_FIELDS[target]),
                )
            )
        else:
            positions[target] = position
    if absent:
        raise ConfigurationError(N_("Mapped columns not in the file: %(columns)s"), columns=absent)
    unmapped = [Message(TARGET_FIELDS[t]) for t in REQUIRED_FIELDS if t not in positions]
    if unmapped:
        raise ConfigurationError(N_("Required fields are not mapped: %(fields)s"), fields=unmapped)
    return Layout(tuple(headers), positions)

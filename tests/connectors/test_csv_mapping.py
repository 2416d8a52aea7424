"""Column mapping: the proposal, the signature for saved mappings, settings, preview."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wawi_connectors import ConfigurationError
from wawi_connectors.csv_file import (
    CsvFileConnector,
    mapping_signature,
    preview,
    propose_mapping,
)

from .test_csv_support import DATA, orders_by_number, write


def test_proposal_for_a_german_erp_export():
    headers = ["Kunden-Nr.", "Vorname", "Name", "Firmenname", "E-Mail", "Tel.", "Handy", "Ort",
               "Land", "Kundengruppe", "Werbeeinwilligung", "Belegnummer", "Datum", "Firma",
               "Auftragsstatus", "Art.-Nr.", "Bezeichnung", "Warengruppe", "Anzahl",
               "Umsatz netto", "Brutto", "Währung", "Lagerplatz"]  # fmt: skip

    assert propose_mapping(headers) == {
        "customer_number": "Kunden-Nr.",
        "first_name": "Vorname",
        "last_name": "Name",
        "company_name": "Firmenname",
        "email": "E-Mail",
        "phone": "Tel.",
        "mobile": "Handy",
        "city": "Ort",
        "country": "Land",
        "customer_group": "Kundengruppe",
        "marketing_consent": "Werbeeinwilligung",
        "order_number": "Belegnummer",
        "ordered_at": "Datum",
        "company": "Firma",
        "state": "Auftragsstatus",
        "sku": "Art.-Nr.",
        "product_name": "Bezeichnung",
        "product_group": "Warengruppe",
        "quantity": "Anzahl",
        "net_amount": "Umsatz netto",
        "gross_amount": "Brutto",
        "currency": "Währung",
    }


def test_proposal_for_an_english_shop_export():
    headers = ["customer_id", "First Name", "last name", "Company Name", "email", "Phone",
               "Mobile", "City", "Country", "Customer Group", "Accepts Marketing", "Order Number",
               "Order Date", "Sales Channel", "Order Status", "SKU", "Product Name", "Category",
               "Qty", "Net", "Gross", "Currency"]  # fmt: skip

    proposal = propose_mapping(headers)

    assert proposal == dict(zip(proposal, headers, strict=True))  # each header, in order
    assert list(proposal) == [
        "customer_number", "first_name", "last_name", "company_name", "email", "phone",
        "mobile", "city", "country", "customer_group", "marketing_consent", "order_number",
        "ordered_at", "company", "state", "sku", "product_name", "product_group", "quantity",
        "net_amount", "gross_amount", "currency",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("headers", "company", "company_name"),
    [
        (["Firma", "Firmenname"], "Firma", "Firmenname"),
        (["Firma (Kunde)", "Mandant"], "Mandant", "Firma (Kunde)"),
        (["Kundenfirma", "Shop"], "Shop", "Kundenfirma"),
        (["Verkaufskanal", "Firma"], "Firma", None),  # the company before its channels
        (["Plattform"], "Plattform", None),
        (["Firma"], "Firma", None),
    ],
)
def test_firma_is_the_selling_company_firmenname_the_customers(headers, company, company_name):
    proposal = propose_mapping(headers)

    assert proposal.get("company") == company
    assert proposal.get("company_name") == company_name


def test_a_mapping_that_leaves_out_required_fields_has_them_missing():
    assert propose_mapping(["Vorname", "Nachname", "Bemerkung"]) == {
        "first_name": "Vorname",
        "last_name": "Nachname",
    }


def test_signature_ignores_order_case_punctuation_and_blank_headers():
    headers = ["Kunden-Nr.", "Auftragsnummer", "Belegdatum", "Netto"]

    same = mapping_signature(headers)

    assert mapping_signature(list(reversed(headers))) == same
    assert mapping_signature(["kunden nr", "AUFTRAGSNUMMER", "Beleg-Datum", "netto", ""]) == same
    assert mapping_signature(headers + ["Brutto"]) != same
    assert mapping_signature(["Kunden-Nr.", "Auftragsnummer", "Belegdatum", "Brutto"]) != same
    assert len(same) == 16 and int(same, 16) >= 0


def test_a_saved_mapping_applies_to_the_next_file_of_the_same_shape(tmp_path):
    first = write(tmp_path, "Kd;Beleg;Tag;Wert\n1;A;01.02.2024;10,00\n", name="january.csv")
    second = write(tmp_path, "Tag;KD;Wert;Beleg\n02.03.2024;2;20,00;B\n", name="march.csv")
    saved = {"customer_number": "Kd", "order_number": "Beleg", "ordered_at": "Tag",
             "net_amount": "Wert"}  # fmt: skip

    assert mapping_signature(["Kd", "Beleg", "Tag", "Wert"]) == preview(str(second)).signature
    # the app stores the mapping as JSON; the header "KD" matches "Kd" like the signature
    orders = orders_by_number(second, mapping=json.dumps(saved))
    assert (orders["B"].customer_external_id, orders["B"].net_total) == ("2", 20)
    assert orders_by_number(first, mapping=saved)["A"].customer_external_id == "1"


def test_preview_shows_format_rows_and_proposal():
    shown = preview(str(DATA / "csv_de_export.csv"), rows=2)

    assert (shown.file_type, shown.encoding, shown.separator) == ("csv", "utf-8-sig", ";")
    assert shown.headers[:3] == ["Kundennummer", "Vorname", "Nachname"]
    assert len(shown.rows) == 2
    assert shown.rows[1][:4] == ["10001", "Anna", "Müller", "Salon Anna"]
    assert shown.rows[0][6] == "0171 555"
    assert shown.rows[0][19] == "1.234,56"  # as written
    assert shown.mapping["net_amount"] == "Netto"
    assert shown.signature == mapping_signature(shown.headers)
    assert shown.unmapped_required == []


def test_preview_of_a_file_without_usable_headers(tmp_path):
    path = write(tmp_path, "A,B\n1,2\n")

    shown = preview(str(path))

    assert shown.separator == ","
    assert shown.rows == [["1", "2"]]
    assert shown.unmapped_required == ["customer_number", "order_number", "ordered_at",
                                       "net_amount"]  # fmt: skip


def test_test_connection_reports_the_file_and_checks_the_mapping(tmp_path):
    path = DATA / "csv_de_export.csv"

    message = CsvFileConnector({"path": str(path)}).test_connection()

    assert message == (
        "csv_de_export.csv is readable (CSV, utf-8-sig, semicolon, 22 columns); "
        "all required fields are mapped"
    )
    bare = write(tmp_path, "Kundennummer;Datum;Netto\n1;01.02.2024;1\n")
    with pytest.raises(ConfigurationError, match="Required fields are not mapped: order number"):
        CsvFileConnector({"path": str(bare)}).test_connection()
    wrong = {"customer_number": "Kundennummer", "order_number": "Bestellung",
             "ordered_at": "Datum", "net_amount": "Netto"}  # fmt: skip
    with pytest.raises(ConfigurationError, match="'Bestellung' \\(order number\\)"):
        CsvFileConnector({"path": str(bare), "mapping": wrong}).test_connection()
    with pytest.raises(ConfigurationError, match="File not found"):
        CsvFileConnector({"path": str(tmp_path / "gone.csv")}).test_connection()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "Missing settings: File"),
        ({"path": "x.csv", "timezone": "Mars/Olympus"}, "Unknown time zone: Mars/Olympus"),
        ({"path": "x.csv", "default_currency": "Euro"}, "Not a currency code: Euro"),
        ({"path": "x.csv", "mapping": "{"}, "The column mapping is not valid JSON"),
        ({"path": "x.csv", "mapping": {"kundennummer": "Kd"}}, "Unknown fields in the column"),
    ],
)
def test_settings_are_checked(settings, message):
    with pytest.raises(ConfigurationError, match=message):
        CsvFileConnector(settings)


def test_settings_defaults():
    connector = CsvFileConnector({"path": "x.csv", "default_currency": "chf"})

    assert connector.settings == {
        "path": "x.csv",
        "file_name": None,
        "mapping": None,
        "cp1252_rows": False,
        "timezone": "Europe/Berlin",
        "default_currency": "CHF",
    }
    assert CsvFileConnector.secret_fields() == set()


def test_default_currency_fills_orders_without_one(tmp_path):
    path = write(tmp_path, "Kundennummer;Auftragsnummer;Datum;Netto\n1;A;01.02.2024;1\n")

    assert orders_by_number(path, default_currency="CHF")["A"].currency == "CHF"


def wawi_export_with_firma_and_mandant(folder) -> Path:
    """A WaWi export whose "Firma" is the customer's company and "Mandant" the seller
    (cp1252, ``;``, 1.234,56, dd.mm.yyyy), as in #12.4."""
    companies = ["Bäckerei Größ", "", "Müller & Söhne KG", "Café Übersee", "", "Schäfer GmbH",
                 "Zahnarztpraxis Dr. Weiß", "Öko-Hof Jürgens", "", "Blumen Haß"]  # fmt: skip
    rows = [
        f"K-{300 + i};{company};{'Gartenwelt GmbH' if i % 3 else 'Pflanzenhof AG'};"
        f"A-{800 + i};{i + 1:02d}.03.2025;abgeschlossen;ART-{i};1.{i}34,56"
        for i, company in enumerate(companies)
    ]
    header = "Kundennummer;Firma;Mandant;Belegnummer;Belegdatum;Status;Artikelnummer;Netto"
    return write(folder, "\n".join([header, *rows]) + "\n", encoding="cp1252")


def test_firma_holding_the_customers_companies_is_their_company_name(tmp_path):
    shown = preview(str(wawi_export_with_firma_and_mandant(tmp_path)))

    assert shown.mapping["company"] == "Mandant"  # two sellers repeat across ten customers
    assert shown.mapping["company_name"] == "Firma"  # a name of its own per customer
    # chosen by the values against the names: the page says so under both
    assert shown.hints == {"company": "seller", "company_name": "customer"}
    orders = orders_by_number(wawi_export_with_firma_and_mandant(tmp_path))
    assert orders["A-801"].company == "Gartenwelt GmbH"  # no mapping saved: the same proposal


def test_a_company_column_the_first_rows_cannot_explain_gets_a_hint(tmp_path):
    path = write(
        tmp_path,
        "Kundennummer;Firma;Belegnummer;Belegdatum;Netto\n"
        "1;Gartenwelt GmbH;A;01.02.2024;1\n"
        "2;Pflanzenhof;B;01.02.2024;1\n",
    )

    shown = preview(str(path))

    assert shown.mapping["company"] == "Firma" and shown.hints == {"company": "unclear"}

"""Reading order-line exports into customers and orders (CSV connector)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest

from wawi_connectors import (
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    ReadContext,
    csv_file,
    get_connector_class,
)
from wawi_connectors.csv_file import CsvFileConnector, preview
from wawi_connectors.tabular import source

from .test_csv_support import DATA, batches, orders_by_number, records, utc, write

D = Decimal
DONE, VOID = "completed", "cancelled"  # the lines' own states


def test_registered_as_csv():
    assert get_connector_class("csv") is CsvFileConnector


def test_german_export_customers_take_the_latest_row():
    customers = records(DATA / "csv_de_export.csv", "customers")

    assert customers == [
        CustomerRecord(
            external_id="10002",
            number="10002",
            first_name="Bernd",
            last_name="Größe",
            email="bernd@example.de",
            city="München",
            country="DE",
            customer_group="Endkunde",
            marketing_consent=False,
        ),
        CustomerRecord(
            external_id="10001",
            number="10001",
            first_name="Anna",
            last_name="Müller-Schmidt",  # from the order of 02.08.2024, the latest
            company_name="Salon Anna",
            email="anna.neu@example.de",
            phone="030 123",
            mobile="0171 555",
            city="Potsdam",
            country="DE",
            customer_group="Friseur",
            marketing_consent=True,  # "x"
        ),
    ]


def test_customer_data_comes_from_the_latest_order_not_the_last_row(tmp_path):
    path = write(
        tmp_path,
        "Kundennummer;Nachname;Ort;Auftragsnummer;Datum;Netto\n"
        "1;Neu;Bonn;B;05.03.2024;1\n"
        "1;Alt;Köln;A;01.03.2024;1\n"
        "2;Früher;Ulm;C;01.03.2024 10:00;1\n"
        "2;Später;Jena;D;01.03.2024 10:00;1\n",  # same time: the later row wins
    )

    customers = {c.external_id: (c.last_name, c.city) for c in records(path, "customers")}

    assert customers == {"1": ("Neu", "Bonn"), "2": ("Später", "Jena")}


def test_german_export_orders_with_their_lines():
    orders = records(DATA / "csv_de_export.csv", "orders")

    assert orders == [
        OrderRecord(
            external_id="A-1001",
            customer_external_id="10001",
            ordered_at=utc(2024, 6, 30, 22, 0),  # 01.07.2024 00:00 in Berlin
            net_total=D("1247.06"),
            state="completed",
            number="A-1001",
            company="Salonbedarf GmbH",
            currency="EUR",
            gross_total=D("1484.01"),
            lines=(
                OrderLineRecord(
                    1, D("1234.56"), D("2"), "HP-1", "Shampoo 1 l", "Haarpflege", D("1469.13"), DONE
                ),
                OrderLineRecord(
                    2, D("12.50"), D("1"), "ST-7", "Haarspray", "Styling", D("14.88"), DONE
                ),
            ),
        ),
        OrderRecord(
            external_id="A-1002",
            customer_external_id="10002",
            ordered_at=utc(2024, 7, 15, 12, 30),
            net_total=D("617.28"),
            state="cancelled",
            number="A-1002",
            company="Friseurshop24",
            currency="EUR",
            gross_total=D("734.56"),
            lines=(
                OrderLineRecord(
                    1, D("617.28"), D("1"), "HP-1", "Shampoo 1 l", "Haarpflege", D("734.56"), VOID
                ),
            ),
        ),
        OrderRecord(
            external_id="A-1003",
            customer_external_id="10001",
            ordered_at=utc(2024, 8, 1, 22, 0),
            net_total=D("45.00"),
            state="completed",  # empty status
            number="A-1003",
            company="Salonbedarf GmbH",
            currency="EUR",
            gross_total=D("53.55"),
            lines=(
                OrderLineRecord(
                    1, D("45.00"), D("3"), "FA-3", "Farbe Rot", "Färben", D("53.55"), DONE
                ),
            ),
        ),
    ]


def test_cp1252_file_with_umlauts(tmp_path):
    path = write(
        tmp_path,
        "Kundennummer;Nachname;Ort;Auftragsnummer;Datum;Artikelname;Netto\r\n"
        "1;Müller;Köln;A1;01.02.2024;Größe XL Überwurf;10,00 €\r\n",
        encoding="cp1252",
    )

    assert preview(str(path)).encoding == "cp1252"
    [customer] = records(path, "customers")
    assert (customer.last_name, customer.city) == ("Müller", "Köln")
    [order] = records(path, "orders")
    assert order.lines[0].product_name == "Größe XL Überwurf"
    assert order.net_total == D("10.00")
    assert order.gross_total is None  # no gross column


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])  # utf-16: Excel's "Unicode text"
def test_tab_separated_without_utf8_bom(tmp_path, encoding):
    path = write(
        tmp_path,
        "Kundennummer\tNachname\tAuftragsnummer\tDatum\tNetto\n1\tGröße\tA1\t01.02.2024\t1.234,50\n",
        encoding=encoding,
    )

    shown = preview(str(path))
    assert (shown.encoding, shown.separator) == (encoding, "\t")
    [order] = records(path, "orders")
    assert order.net_total == D("1234.50")
    assert records(path, "customers")[0].last_name == "Größe"


def test_english_export_with_iso_dates_and_english_amounts():
    orders = orders_by_number(DATA / "csv_en_export.csv", timezone="Europe/London")

    first, second = orders["1001"], orders["1002"]
    assert first.ordered_at == utc(2024, 6, 30, 23, 0)  # midnight in London, summer time
    assert [line.net_amount for line in first.lines] == [D("1234.56"), D("1000.00")]
    assert (first.net_total, first.gross_total) == (D("2234.56"), D("2681.47"))
    assert (first.company, first.currency, first.state) == ("Web Shop", "GBP", "completed")
    assert second.ordered_at == utc(2024, 7, 2, 8, 15)
    assert second.state == "returned"  # "refunded"
    # 1.250 reads as English because the column writes 1234.56 elsewhere
    assert (second.net_total, second.lines[0].quantity) == (D("1.250"), D("0.5"))
    customers = {c.external_id: c for c in records(DATA / "csv_en_export.csv", "customers")}
    assert customers["C-1"].marketing_consent is True
    assert customers["C-2"].marketing_consent is False
    assert customers["C-2"].company_name == "Acme Ltd"


def test_xlsx_with_date_cells_numbers_and_text(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(
        ["Kundennummer", "Name", "Auftragsnummer", "Bestelldatum", "Menge", "Netto", "Newsletter"]
    )
    sheet.append([10001, "Müller", 4711, datetime(2024, 7, 1), 2, 1234.56, True])
    sheet.append([10001, "Müller", 4711, datetime(2024, 7, 1), 1, "12,50", "ja"])
    sheet.append([None] * 7)  # an empty row is skipped
    sheet.append([10002, "Weber", "4712", "15.07.2024 14:30", None, 99, "nein"])
    path = tmp_path / "export.xlsx"
    workbook.save(path)

    orders = orders_by_number(path)

    assert orders["4711"].ordered_at == utc(2024, 6, 30, 22, 0)
    assert orders["4711"].customer_external_id == "10001"
    assert orders["4711"].net_total == D("1247.06")
    assert [line.quantity for line in orders["4711"].lines] == [D("2"), D("1")]
    assert orders["4712"].ordered_at == utc(2024, 7, 15, 12, 30)
    assert (orders["4712"].net_total, orders["4712"].lines[0].quantity) == (D("99"), D("1"))
    customers = {
        c.external_id: (c.last_name, c.marketing_consent) for c in records(path, "customers")
    }
    assert customers == {"10001": ("Müller", True), "10002": ("Weber", False)}


def test_dates_are_local_times_of_the_business_time_zone(tmp_path):
    path = write(
        tmp_path,
        "Kundennummer;Auftragsnummer;Datum;Netto\n"
        "1;A;01.07.2024;1\n"
        "1;B;15.01.2024 10:00;1\n"
        "1;C;27.10.2024 02:30;1\n"  # happens twice: the first (summer time) is taken
        "1;D;31.03.2024 02:30;1\n"  # does not exist: moved to 03:00 summer time
        "1;E;2024-07-01T12:00:00Z;1\n"  # an explicit offset wins
        "1;F;01.07.24;1\n"
        "1;G;2024-07-01 08:05:09;1\n",
    )

    at = {n: o.ordered_at for n, o in orders_by_number(path).items()}

    assert at == {
        "A": utc(2024, 6, 30, 22, 0),
        "B": utc(2024, 1, 15, 9, 0),
        "C": utc(2024, 10, 27, 0, 30),
        "D": utc(2024, 3, 31, 1, 0),
        "E": utc(2024, 7, 1, 12, 0),
        "F": utc(2024, 6, 30, 22, 0),
        "G": utc(2024, 7, 1, 6, 5, 9),
    }
    in_new_york = orders_by_number(path, timezone="America/New_York")
    assert in_new_york["A"].ordered_at == utc(2024, 7, 1, 4, 0)


STATES = {
    "abgeschlossen": "completed", "Erledigt": "completed", "bezahlt": "completed",
    "versendet": "completed", "completed": "completed", "": "completed",
    "offen": "open", "In Bearbeitung": "open", "pending": "open", "processing": "open",
    "storniert": "cancelled", "canceled": "cancelled", "cancelled": "cancelled",
    "Retoure": "returned", "zurückgegeben": "returned", "returned": "returned",
    "refunded": "returned",
}  # fmt: skip
CONSENTS = {
    "ja": True, "Nein": False, "YES": True, "no": False, "1": True, "0": False,
    "true": True, "FALSE": False, "x": True, "": None, "WAHR": True, "falsch": False,
}  # fmt: skip


def _one_order_per_value(folder, column, values):
    rows = "".join(f"{i};{i};01.02.2024;1;{value}\n" for i, value in enumerate(values))
    return write(folder, f"Kundennummer;Auftragsnummer;Datum;Netto;{column}\n{rows}")


def test_order_states(tmp_path):
    path = _one_order_per_value(tmp_path, "Status", STATES)

    assert [o.state for o in records(path, "orders")] == list(STATES.values())


def test_marketing_consent(tmp_path):
    path = _one_order_per_value(tmp_path, "Newsletter", CONSENTS)

    assert [c.marketing_consent for c in records(path, "customers")] == list(CONSENTS.values())


def test_each_amount_column_decides_its_own_style(tmp_path):
    path = write(
        tmp_path,
        "Kundennummer;Auftragsnummer;Datum;Netto;Brutto\n"
        "1;A;01.02.2024;1.234;1.234\n"
        "1;B;01.02.2024;2.500,00;99.5\n",
    )

    orders = orders_by_number(path)

    assert (orders["A"].net_total, orders["B"].net_total) == (D("1234"), D("2500.00"))
    assert (orders["A"].gross_total, orders["B"].gross_total) == (D("1.234"), D("99.5"))


@pytest.mark.parametrize(
    ("text", "net"),
    [
        ("Kundennummer;Auftragsnummer;Datum;Netto\n1;A;01.02.2024;1.234\n", D("1234")),
        ("Kundennummer,Auftragsnummer,Datum,Netto\n1,A,2024-02-01,1.234\n", D("1.234")),
    ],
)
def test_without_evidence_the_separator_decides_the_style(tmp_path, text, net):
    [order] = records(write(tmp_path, text), "orders")

    assert order.net_total == net


def test_spread_out_orders_are_gathered_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(source, "CHUNK_ROWS", 2)
    path = write(
        tmp_path,
        "Kundennummer;Auftragsnummer;Datum;Artikelnummer;Netto;Brutto\n"
        "1;A;01.02.2024;a1;1,00;1,19\n"
        "2;B;02.02.2024;b1;2,00;2,38\n"
        "3;C;03.02.2024;c1;3,00;3,57\n"
        "1;A;01.02.2024;a2;4,00;\n"
        "2;B;02.02.2024;b2;5,00;5,95\n",
    )

    orders = records(path, "orders")

    assert [o.number for o in orders] == ["C", "A", "B"]  # each at its last line
    a, b = orders[1], orders[2]
    assert [(line.line_no, line.sku) for line in a.lines] == [(1, "a1"), (2, "a2")]
    assert (a.net_total, a.gross_total) == (D("5.00"), None)  # a line without gross
    assert (b.net_total, b.gross_total) == (D("7.00"), D("8.33"))


def test_batches_carry_the_file_hash_as_the_last_cursor(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_file, "BATCH_SIZE", 2)
    path = write(
        tmp_path,
        "Kundennummer;Auftragsnummer;Datum;Netto\n"
        + "".join(f"{i};{i};01.02.2024;1\n" for i in range(5)),
    )
    file_hash = hashlib.sha256(path.read_bytes()).hexdigest()

    got = batches(path, "orders", cursor="an older file")

    assert [len(b.records) for b in got] == [2, 2, 1]
    assert [b.cursor for b in got] == ["an older file", "an older file", file_hash]
    assert {b.stream for b in got} == {"orders"}
    assert batches(path, "orders", cursor=file_hash) == []  # this exact file was imported
    assert batches(path, "customers", cursor=file_hash) == []


def test_check_counts_lines_customers_and_orders():
    connector = CsvFileConnector({"path": str(DATA / "csv_de_export.csv")})
    try:
        checked = connector.check()
    finally:
        connector.close()

    assert (checked.lines, checked.customers, checked.orders) == (4, 2, 3)
    assert checked.file_name == "csv_de_export.csv"


def test_both_streams_from_one_connector_read_the_file_once(tmp_path, monkeypatch):
    path = DATA / "csv_de_export.csv"
    connector = CsvFileConnector({"path": str(path)})
    reads = []
    real_iter_chunks = source.iter_chunks

    def counting(*args, **kwargs):
        reads.append(1)
        return real_iter_chunks(*args, **kwargs)

    monkeypatch.setattr("wawi_connectors.tabular.scan.iter_chunks", counting)
    try:
        customers = [r for b in connector.read("customers", ReadContext()) for r in b.records]
        orders = [r for b in connector.read("orders", ReadContext()) for r in b.records]
    finally:
        connector.close()

    assert (len(customers), len(orders), len(reads)) == (2, 3, 1)


def test_states_per_position_make_the_orders_state(tmp_path, monkeypatch):
    """A WaWi export's status is per position; an order spread over chunks counts too."""
    monkeypatch.setattr(source, "CHUNK_ROWS", 2)
    path = write(
        tmp_path,
        "Kundennummer;Auftragsnummer;Datum;Status;Netto;Brutto\n"
        "1;A;30.08.2025;abgeschlossen;1.234,56;1.469,13\n"
        "1;A;30.08.2025;storniert;99,90;118,88\n"
        "1;A;30.08.2025;abgeschlossen;10,00;11,90\n"
        "2;B;01.09.2025;storniert;5,00;5,95\n"
        "2;B;01.09.2025;Retoure;7,00;8,33\n"
        "3;C;02.09.2025;offen;3,00;3,57\n"
        "3;C;02.09.2025;abgeschlossen;4,00;4,76\n",
        encoding="cp1252",
    )

    orders = orders_by_number(path)

    a = orders["A"]
    assert (a.state, a.net_total, a.gross_total) == ("completed", D("1244.56"), D("1481.03"))
    assert [line.state for line in a.lines] == ["completed", "cancelled", "completed"]
    assert (orders["B"].state, orders["B"].net_total) == ("returned", D("12.00"))
    assert (orders["C"].state, orders["C"].net_total) == ("open", D("7.00"))


def test_positions_that_are_no_goods_add_nothing(tmp_path):
    """A WaWi export of order positions with their type (JTL's "Positionstyp"): shipping,
    a voucher, a payment fee and packaging are no lines and no revenue, a cancelled
    article adds nothing (docs/revenue.md)."""
    path = write(
        tmp_path,
        "Kundennummer;Auftragsnummer;Datum;Positionstyp;Status;Artikelname;Netto;Brutto\n"
        "1;A;30.08.2025;Artikel;abgeschlossen;Shampoo;20,00;23,80\n"
        "1;A;30.08.2025;Versandkosten;abgeschlossen;DHL Paket;4,90;5,83\n"
        "1;A;30.08.2025;Gutschein;abgeschlossen;Gutschein NEU5;-5,00;-5,95\n"
        "1;A;30.08.2025;Artikel;storniert;Wachs;10,00;11,90\n"
        "1;A;30.08.2025;Zahlungsart;abgeschlossen;Nachnahme;2,00;2,38\n"
        "1;A;30.08.2025;Verpackung;abgeschlossen;Karton;0,50;0,60\n"
        "1;A;30.08.2025;Freiposition;abgeschlossen;Gravur;3,00;3,57\n"
        "2;B;01.09.2025;;abgeschlossen;Bürste;7,00;8,33\n",
    )

    orders = orders_by_number(path)

    a = orders["A"]
    assert [line.product_name for line in a.lines] == ["Shampoo", "Wachs", "Gravur"]
    assert (a.state, a.net_total, a.gross_total) == ("completed", D("23.00"), D("27.37"))
    assert orders["B"].net_total == D("7.00")  # an empty type is goods
    assert [line.line_no for line in a.lines] == [1, 2, 3]

"""A bad file is refused as a whole, with row, column and reason for each error."""

from __future__ import annotations

from datetime import datetime

import openpyxl
import pytest

from wawi_connectors import DataError, ReadContext, RowError
from wawi_connectors.csv_file import CsvFileConnector
from wawi_connectors.tabular import source

from .test_csv_support import write


def read_until_refused(path, stream="customers", **settings):
    """Read a stream that must fail; return the error and the batches yielded before it."""
    connector = CsvFileConnector({"path": str(path), **settings})
    yielded = []
    try:
        with pytest.raises(DataError) as refused:
            for batch in connector.read(stream, ReadContext()):
                yielded.append(batch)
    finally:
        connector.close()
    return refused.value, yielded


BAD_FILE = (
    "Kundennummer;Auftragsnummer;Belegdatum;Netto;Status;Newsletter\n"
    "1;4711;01.02.2024;10,00;;ja\n"
    ";4712;01.02.2024;5,00;;\n"
    "2;4713;31.02.2024;5,00;;\n"
    "3;4714;01.02.2024;12,3,4;;\n"
    "1;4711;02.02.2024;1,00;;\n"
    "4;4711;01.02.2024;1,00;;\n"
    "5;4715;01.02.2024;;verloren;vielleicht\n"
    "6;4716;;1,00;;\n"
)


@pytest.mark.parametrize("stream", ["customers", "orders"])
def test_every_error_is_listed_and_nothing_is_yielded(tmp_path, stream):
    path = write(tmp_path, BAD_FILE, name="bestellungen.csv")

    error, yielded = read_until_refused(path, stream)

    assert yielded == []
    assert str(error) == "bestellungen.csv: 9 errors; nothing was imported"
    assert error.errors == [
        RowError(3, "Kundennummer", "missing customer number"),
        RowError(4, "Belegdatum", "not a date: '31.02.2024'"),
        RowError(5, "Netto", "not an amount: '12,3,4'"),
        RowError(
            6,
            "Belegdatum",
            "order 4711 has two different dates: 02.02.2024 here, 01.02.2024 in row 2",
        ),
        RowError(7, "Kundennummer", "order 4711 belongs to two customers: 4 here, 1 in row 2"),
        RowError(8, "Netto", "missing net amount"),
        RowError(8, "Status", "unknown order status: 'verloren'"),
        RowError(8, "Newsletter", "not a yes/no value: 'vielleicht'"),
        RowError(9, "Belegdatum", "missing order date"),
    ]


def test_a_column_that_mixes_number_styles_is_an_error_where_it_does_not_fit(tmp_path):
    path = write(
        tmp_path,
        "Kundennummer;Auftragsnummer;Datum;Netto\n"
        "1;A;01.02.2024;1.234,56\n"
        "1;B;01.02.2024;12.50\n"
        "1;C;01.02.2024;99,90\n"
        "1;D;01.02.2024;1.234\n",  # fits either: read as the column's style
    )

    error, _ = read_until_refused(path)

    assert error.errors == [
        RowError(
            3, "Netto", "'12.50' is written differently from the rest of the column (1.234,56)"
        )
    ]


def test_orders_that_disagree_across_chunks_are_found(tmp_path, monkeypatch):
    monkeypatch.setattr(source, "CHUNK_ROWS", 2)
    path = write(
        tmp_path,
        "Kundennummer;Auftragsnummer;Datum;Netto;Status;Firma;Währung\n"
        "1;A;01.02.2024;1;offen;Shop;EUR\n"
        "2;B;01.02.2024;1;;Shop;EUR\n"
        "2;B;01.02.2024;1;;Shop;EUR\n"
        "1;A;01.02.2024 10:15;1;storniert;Markt;CHF\n",
    )

    error, _ = read_until_refused(path, "orders")

    # the status is per line: a cancelled position is no contradiction
    assert [(e.row, e.column, e.reason) for e in error.errors] == [
        (5, "Datum", "order A has two different dates: 01.02.2024 10:15 here, 01.02.2024 in row 2"),
        (5, "Firma", "order A belongs to two companies: Markt here, Shop in row 2"),
        (5, "Währung", "order A has two different currencies: CHF here, EUR in row 2"),
    ]


def test_only_the_first_100_errors_are_listed(tmp_path):
    rows = "".join(f"{i};{i};gestern;1\n" for i in range(150))
    path = write(tmp_path, "Kundennummer;Auftragsnummer;Datum;Netto\n" + rows)

    error, _ = read_until_refused(path)

    assert str(error) == "export.csv: 150 errors (the first 100 are listed); nothing was imported"
    assert len(error.errors) == 100
    assert (error.errors[0].row, error.errors[-1].row) == (2, 101)
    assert error.errors[0].reason == "not a date: 'gestern'"


@pytest.mark.parametrize(
    ("third_line", "reason"),
    [
        ("2;B;01.02.2024;1;5", "5 columns instead of 4 (check separators and quotes)"),
        ('2;"B;01.02.2024;1', "a quote opens here and is never closed"),
    ],
)
def test_a_row_that_cannot_be_split(tmp_path, third_line, reason):
    text = f"Kundennummer;Auftragsnummer;Datum;Netto\n1;A;01.02.2024;1\n{third_line}\n3;C;x;1\n"

    error, _ = read_until_refused(write(tmp_path, text))

    assert error.errors == [RowError(3, "", reason)]


def test_blank_lines_are_skipped_but_counted(tmp_path):
    path = write(
        tmp_path,
        "Kundennummer;Auftragsnummer;Datum;Netto\n1;A;01.02.2024;1\n\n;;;\n2;B;01.13.2024;1\n",
    )

    error, _ = read_until_refused(path)

    assert error.errors == [RowError(5, "Datum", "not a date: '01.13.2024'")]


def test_xlsx_errors_name_the_sheet_row(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Kundennummer", "Auftragsnummer", "Datum", "Netto"])
    sheet.append([1, "A", datetime(2024, 2, 1), 10.5])
    sheet.append([2, "B", "gestern", "zehn"])
    path = tmp_path / "export.xlsx"
    workbook.save(path)

    error, _ = read_until_refused(path)

    assert error.errors == [
        RowError(3, "Datum", "not a date: 'gestern'"),
        RowError(3, "Netto", "not an amount: 'zehn'"),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"\r\nKundennummer;Auftragsnummer\r\n", "The first line of the file has no column"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Old Excel files (.xls) are not supported"),
    ],
)
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "upload.csv"
    path.write_bytes(content)

    error, _ = read_until_refused(path)

    assert str(error).startswith(message)


def test_an_unknown_position_type_is_refused(tmp_path):
    path = write(
        tmp_path,
        "Kundennummer;Auftragsnummer;Datum;Positionstyp;Netto\n"
        "1;A;30.08.2025;Artikel;20,00\n"
        "1;A;30.08.2025;Sonderding;4,90\n",
    )
    error, yielded = read_until_refused(path, "orders")
    assert yielded == []
    assert error.errors == [RowError(3, "Positionstyp", "unknown position type: 'Sonderding'")]

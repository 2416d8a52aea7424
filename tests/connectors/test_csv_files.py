"""Files that broke the import (issue 13, items 1 and 3): a UTF-8 file with a few
Windows-1252 rows, Excel sheets with millions of empty rows, files with no rows."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from wawi_connectors import DataError, RowError
from wawi_connectors.csv_file import CsvFileConnector, preview
from wawi_connectors.tabular import source

from .test_csv_support import records
from .test_csv_validation import read_until_refused

HEADER = "Kundennummer;Nachname;Auftragsnummer;Datum;Netto\r\n"


def mixed_file(tmp_path, lines: int = 3000, foreign: tuple[int, ...] = (2067,), bom=True):
    """A UTF-8 export of ``lines`` rows; the rows numbered ``foreign`` in cp1252."""
    parts = [(b"\xef\xbb\xbf" if bom else b"") + HEADER.encode()]
    for row in range(2, lines + 2):
        name = "Müller" if row in foreign else "Köhler"
        customer = f"F{row}" if row in foreign else f"K{row % 300}"
        line = f"{customer};{name};A{row};01.02.2024;10,00\r\n"
        parts.append(line.encode("cp1252" if row in foreign else "utf-8"))
    path = tmp_path / "export.csv"
    path.write_bytes(b"".join(parts))
    return path


@pytest.mark.parametrize("bom", [True, False])
def test_a_utf8_file_with_a_cp1252_row_is_refused_naming_the_row(tmp_path, bom):
    path = mixed_file(tmp_path, bom=bom)

    shown = preview(str(path))
    assert shown.encoding == ("utf-8-sig" if bom else "utf-8")
    assert (shown.foreign_rows, shown.foreign_total) == ((2067,), 1)
    error, yielded = read_until_refused(path, "customers")

    assert yielded == []
    assert error.errors == [
        RowError(
            2067,
            "Nachname",
            "not UTF-8 as the rest of the file: 'Müller' if read as Windows-1252",
        )
    ]


def test_confirmed_only_the_foreign_rows_are_read_as_cp1252(tmp_path):
    path = mixed_file(tmp_path, foreign=(5, 2067))

    customers = records(path, "customers", cp1252_rows=True)
    orders = records(path, "orders", cp1252_rows=True)

    names = {c.last_name for c in customers}
    assert names == {"Köhler", "Müller"}  # never "KÃ¶hler"
    by_number = {o.number: o for o in orders}
    assert len(by_number) == 3000
    latest = {c.external_id: c.last_name for c in customers}
    assert latest["F5"] == latest["F2067"] == "Müller"


def test_rows_are_counted_as_the_user_sees_them_with_line_breaks_in_cells(tmp_path):
    text = (
        HEADER
        + 'K1;"Köhler\r\nzweite Zeile";A1;01.02.2024;10,00\r\n'
        + "K2;Köhler;A2;01.02.2024;10,00\r\n"
    ).encode() + "K3;Müller;A3;01.02.2024;10,00\r\n".encode("cp1252")
    path = tmp_path / "export.csv"
    path.write_bytes(text)

    assert preview(str(path)).foreign_rows == (4,)  # line 5, row 4
    error, _ = read_until_refused(path)
    assert [(e.row, e.column) for e in error.errors] == [(4, "Nachname")]


def test_a_cp1252_file_stays_cp1252(tmp_path):
    path = tmp_path / "export.csv"
    text = HEADER + "K1;Müller;A1;01.02.2024;10,00\r\nK2;Größe;A2;01.02.2024;10,00\r\n"
    path.write_bytes(text.encode("cp1252"))

    shown = preview(str(path))

    assert (shown.encoding, shown.foreign_total) == ("cp1252", 0)
    assert {c.last_name for c in records(path, "customers")} == {"Müller", "Größe"}


# -- files without rows ---------------------------------------------------------------


def test_a_csv_file_with_headers_only_is_an_error(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(HEADER.encode())

    error, yielded = read_until_refused(path, "orders")

    assert yielded == []
    assert error.errors == [RowError(2, "", "no order lines below the header row")]


def test_an_excel_file_with_headers_only_is_an_error(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADER.strip().split(";"))
    path = tmp_path / "export.xlsx"
    workbook.save(path)

    error, _ = read_until_refused(path)

    assert str(error) == "export.xlsx: 1 error; nothing was imported"
    assert error.errors == [RowError(2, "", "no order lines below the header row")]


# -- Excel sheets with millions of empty rows --------------------------------------------


def sheet_with(tmp_path, extra_rows: str, data=True):
    """An .xlsx with a header and two data rows, then ``extra_rows`` written into the XML."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(";"))
    if data:
        sheet.append(["K1", "Köhler", "A1", "01.02.2024", "10,00"])
        sheet.append(["K2", "Weiß", "A2", "02.02.2024", "12,50"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = tmp_path / "export.xlsx"
    with zipfile.ZipFile(buffer) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            content = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"</sheetData>", extra_rows.encode() + b"</sheetData>")
            new.writestr(item, content)
    return path


def test_one_blank_cell_three_million_rows_down_is_not_read_as_three_million_rows(tmp_path):
    far = 3_000_000
    cell = f'<c r="A{far}" t="inlineStr"><is><t xml:space="preserve"> </t></is></c>'
    path = sheet_with(tmp_path, f'<row r="{far}">{cell}</row>')
    assert path.stat().st_size < 10_000

    connector = CsvFileConnector({"path": str(path)})
    try:
        checked = connector.check()
    finally:
        connector.close()

    assert checked.lines == 2  # the blank cell is no row; before: an error on row 3,000,000


def test_written_out_empty_rows_are_not_read_past_the_last_value(tmp_path, monkeypatch):
    rows = "".join(f'<row r="{n}"/>' for n in range(4, 300_004))
    path = sheet_with(tmp_path, rows)
    parsed = []
    written = source._written_rows

    def counting(sheet, first):
        for item in written(sheet, first):
            parsed.append(item[0])
            yield item

    monkeypatch.setattr(source, "_written_rows", counting)

    assert [o.number for o in records(path, "orders")] == ["A1", "A2"]
    assert max(parsed) <= 3 + 2 * source.EMPTY_RUN  # stopped soon after the data


def test_the_last_row_with_a_value_counts_rows_without_numbers(tmp_path):
    path = sheet_with(tmp_path, '<row/><row><c t="inlineStr"><is><t>x</t></is></c></row><row/>')
    workbook, sheet = source._open_sheet(path)
    try:
        assert source._last_data_row(sheet) == 5
    finally:
        workbook.close()


def test_data_below_a_long_gap_is_read(tmp_path):
    gap = "".join(f'<row r="{n}"/>' for n in range(4, 5004))
    value = '<row r="9000"><c r="A9000" t="inlineStr"><is><t>K9</t></is></c>'
    value += '<c r="C9000" t="inlineStr"><is><t>A9</t></is></c>'
    value += '<c r="D9000" t="inlineStr"><is><t>03.02.2024</t></is></c>'
    value += '<c r="E9000"><v>7</v></c></row>'
    path = sheet_with(tmp_path, gap + value)

    assert [o.number for o in records(path, "orders")] == ["A1", "A2", "A9"]


def test_an_empty_sheet_is_refused(tmp_path):
    path = sheet_with(tmp_path, "", data=False)
    workbook = openpyxl.load_workbook(path)
    workbook.active.delete_rows(1)
    workbook.save(path)

    with pytest.raises(DataError, match="empty"):
        preview(str(path))


def test_the_preview_stops_at_a_long_run_of_empty_rows(tmp_path, monkeypatch):
    path = sheet_with(tmp_path, "".join(f'<row r="{n}"/>' for n in range(4, 100_004)))

    def whole_sheet(sheet):
        raise AssertionError("the preview needs the first rows only")

    monkeypatch.setattr(source, "_last_data_row", whole_sheet)

    assert [row[2] for row in preview(str(path)).rows] == ["A1", "A2"]

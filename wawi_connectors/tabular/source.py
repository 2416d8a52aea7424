"""Reading an uploaded .csv or .xlsx file: format detection and chunks of raw cells.

Chunks are DataFrames whose columns are the file's column positions and whose index
is the row number a spreadsheet user sees (header = row 1). CSV cells are ``str`` or
NaN; Excel cells keep their type (``str``, ``int``, ``float``, ``bool``, ``datetime``)
so numbers and real date cells need no guessing.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd

from ..base import N_, ConfigurationError, DataError, RowError
from .values import cell_text

CHUNK_ROWS = 50_000
FOREIGN_LISTED = 20
EMPTY_RUN = 1_000  # empty rows in a row after which an Excel sheet's end is looked up
_BLOCK = 1 << 20
_FOREIGN = re.compile("[\udc80-\udcff]")
_SEPARATORS = (";", "\t", ",")  # preferred in this order when counts tie


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: Path
    file_type: str  # "csv" or "xlsx"
    encoding: str | None  # csv only: utf-8-sig, utf-8, utf-16 or cp1252
    separator: str | None  # csv only
    headers: tuple[str, ...]
    header_row: int
    content_hash: str
    name: str = ""  # the name the user knows the file by (an upload's own name)
    # A UTF-8 file with some rows that are not UTF-8 (Windows-1252, as a second program
    # may have appended them): those rows as the user counts them (the first
    # ``FOREIGN_LISTED``), and how many there are. Their bytes reach the cells as lone
    # surrogates (``surrogateescape``) until ``foreign_text`` reads them as cp1252.
    foreign_rows: tuple[int, ...] = ()
    foreign_total: int = 0
    # Rows with a NUL byte, which the CSV parser would cut the cell at (not for UTF-16).
    nul_rows: tuple[int, ...] = ()
    nul_total: int = 0


def file_hash(path: str | Path) -> str:
    """sha256 of the file's bytes: the cursor that says "this exact file"."""
    return _scan_bytes(Path(path))[0]


def inspect_file(path: str | Path, name: str | None = None) -> FileInfo:
    """Hash the file and detect its type, encoding, separator and headers; ``name`` is
    what messages call the file (default: its own name)."""
    path = Path(path)
    name = name or path.name
    content_hash, file_type, encoding, has_nul = _scan_bytes(path)
    if file_type == "xlsx":
        header_row, headers = _xlsx_headers(path)
        return FileInfo(path, "xlsx", None, None, headers, header_row, content_hash, name)
    foreign: tuple[tuple[int, ...], int] = ((), 0)
    if encoding == "cp1252" and (_starts_with_bom(path) or _mostly_utf8(path)):
        encoding = "utf-8-sig" if _starts_with_bom(path) else "utf-8"
        foreign = _rows_where(path, _not_utf8)
    nul: tuple[tuple[int, ...], int] = ((), 0)
    if encoding != "utf-16" and has_nul:
        nul = _rows_where(path, lambda line: b"\x00" in line)
    first_line = _first_line(path, encoding)
    separator = sniff_separator(first_line)
    headers = tuple(h.strip() for h in next(csv.reader([first_line], delimiter=separator), []))
    if not any(headers):
        raise DataError(N_("The first line of the file has no column headers"))
    return FileInfo(
        path, "csv", encoding, separator, headers, 1, content_hash, name, *foreign, *nul
    )


def foreign_text(text: str) -> str:
    """A cell of a mixed file with its non-UTF-8 bytes read as Windows-1252."""
    if not _FOREIGN.search(text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("cp1252", "replace")


def has_foreign_bytes(value: Any) -> bool:
    return type(value) is str and _FOREIGN.search(value) is not None


def sniff_separator(header_line: str) -> str:
    """The separator that occurs most often in the header line, outside quotes."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {sep: unquoted.count(sep) for sep in _SEPARATORS}
    return max(_SEPARATORS, key=lambda sep: counts[sep])


def iter_chunks(
    info: FileInfo, columns: Sequence[int], chunk_rows: int | None = None, sample: bool = False
) -> Iterator[pd.DataFrame]:
    """Chunks of the given columns (by position), indexed by spreadsheet row number.

    ``sample``: only the first rows are wanted; an Excel sheet is read no further than a
    run of ``EMPTY_RUN`` empty rows.
    """
    chunk_rows = chunk_rows or CHUNK_ROWS
    if info.file_type == "xlsx":
        yield from _xlsx_chunks(info, columns, chunk_rows, sample)
    else:
        yield from _csv_chunks(info, columns, chunk_rows)


def head_rows(info: FileInfo, rows: int) -> list[list[str]]:
    """The first data rows of every column, as display strings."""
    chunks = iter_chunks(info, list(range(len(info.headers))), chunk_rows=rows, sample=True)
    try:
        frame = next(chunks, None)
    finally:
        chunks.close()
    if frame is None:
        return []
    return [
        [foreign_text(cell_text(v)) for v in row]
        for row in frame.head(rows).itertuples(index=False)
    ]


def _scan_bytes(path: Path) -> tuple[str, str, str | None, bool]:
    """(content hash, file type, encoding, has a NUL byte) from one pass over the bytes."""
    digest = hashlib.sha256()
    nul = False
    try:
        with path.open("rb") as f:
            block = f.read(_BLOCK)
            file_type, encoding = _detect_type(block)
            utf8 = encoding in ("utf-8", "utf-8-sig")
            decoder = codecs.getincrementaldecoder("utf-8")() if utf8 else None
            while block:
                digest.update(block)
                nul = nul or b"\x00" in block
                if decoder is not None:
                    try:
                        decoder.decode(block)
                    except UnicodeDecodeError:
                        decoder, encoding = None, "cp1252"
                block = f.read(_BLOCK)
            if decoder is not None:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    encoding = "cp1252"
    except FileNotFoundError:
        raise ConfigurationError(N_("File not found: %(path)s"), path=str(path)) from None
    except OSError as exc:
        raise ConfigurationError(
            N_("Cannot read %(path)s: %(error)s"), path=str(path), error=exc.strerror
        ) from None
    return digest.hexdigest(), file_type, encoding, nul


def _detect_type(head: bytes) -> tuple[str, str | None]:
    if not head:
        raise DataError(N_("The file is empty"))
    if head.startswith(b"PK\x03\x04"):
        return "xlsx", None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError(N_("Old Excel files (.xls) are not supported: save as .xlsx or CSV"))
    if head.startswith(codecs.BOM_UTF8):
        return "csv", "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "csv", "utf-16"
    return "csv", "utf-8"


def _mostly_utf8(path: Path) -> bool:
    """Whether a file that is not valid UTF-8 is UTF-8 all the same, but for a few bytes:
    more of its non-ASCII characters are UTF-8 sequences than bytes that are not. A
    Windows-1252 file has next to none (its umlauts are single bytes that UTF-8 refuses);
    its ASCII reads the same either way."""
    valid = invalid = 0
    with path.open("rb") as f:
        carry = b""
        while True:
            block = f.read(_BLOCK)
            data = carry + block
            cut = data.rfind(b"\n") + 1 if block else len(data)  # no sequence spans lines
            data, carry = data[:cut], data[cut:]
            text = data.decode("utf-8", "replace")  # one U+FFFD per invalid piece
            bad = text.count("\ufffd")
            invalid += bad
            valid += len(text) - len(text.encode("ascii", "ignore")) - bad
            if not block:
                return valid > invalid


def _starts_with_bom(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(3) == codecs.BOM_UTF8


def _not_utf8(line: bytes) -> bool:
    if line.isascii():
        return False
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _rows_where(path: Path, test: Callable[[bytes], bool]) -> tuple[tuple[int, ...], int]:
    """The rows (as the user counts them, header = 1) with a line ``test`` is true of.

    A line break inside quotes continues the row, as in the CSV reader: a line with an
    odd number of quote characters opens or closes a quoted cell.
    """
    rows: list[int] = []
    total = 0
    row, quoted = 1, False
    with path.open("rb") as f:
        for line in f:
            if test(line) and (not rows or rows[-1] != row):
                total += 1
                if len(rows) < FOREIGN_LISTED:
                    rows.append(row)
            if line.count(b'"') % 2:
                quoted = not quoted
            if not quoted and line.endswith(b"\n"):
                row += 1
    return tuple(rows), total


def _first_line(path: Path, encoding: str | None) -> str:
    with path.open(encoding=encoding, errors="replace", newline="") as f:
        return f.readline().rstrip("\r\n")


def _csv_chunks(info: FileInfo, columns: Sequence[int], chunk_rows: int) -> Iterator[pd.DataFrame]:
    reader = pd.read_csv(
        info.path,
        sep=info.separator,
        encoding=info.encoding,
        encoding_errors=_encoding_errors(info),
        header=0,
        names=list(range(len(info.headers))),
        index_col=False,
        dtype=str,
        keep_default_na=False,  # "NA" is Namibia, "null" may be a name
        na_values=[""],
        skip_blank_lines=False,  # keeps row numbers as the user sees them
        chunksize=chunk_rows,
    )
    try:
        with reader:
            for frame in reader:  # all columns: with usecols, extra fields would pass silently
                frame = frame[list(columns)]
                frame.index = frame.index + 2
                yield frame
    except pd.errors.ParserError as exc:
        raise _unreadable_row_error(info, str(exc)) from None
    except UnicodeDecodeError:
        raise DataError(
            N_("The file is not valid %(encoding)s text"), encoding=info.encoding
        ) from None


def _encoding_errors(info: FileInfo) -> str:
    if info.encoding == "cp1252":  # cp1252 leaves five bytes undefined; one stray byte
        return "replace"  # should not sink a file
    return "surrogateescape" if info.foreign_total else "strict"


def _unreadable_row_error(info: FileInfo, message: str) -> DataError:
    """The parser stops at the first row it cannot split; say which and why."""
    if found := re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message):
        expected, line, saw = found.groups()
        error = RowError.of(
            int(line),
            "",
            N_("%(saw)s columns instead of %(expected)s (check separators and quotes)"),
            saw=saw,
            expected=expected,
        )
    elif found := re.search(r"EOF inside string starting at row (\d+)", message):
        error = RowError.of(int(found[1]) + 1, "", N_("a quote opens here and is never closed"))
    else:
        return DataError(N_("The file cannot be read as CSV: %(error)s"), error=message)
    return DataError(N_("%(file)s: 1 error; nothing was imported"), [error], file=info.name)


def _open_sheet(path: Path):  # openpyxl has no public types to annotate with
    import openpyxl  # imported here: only Excel uploads pay for it

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise DataError(N_("Not a readable Excel file: %(error)s"), error=str(exc)) from None
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()  # some writers store wrong dimensions; read what is there
    return workbook, sheet


# In a sheet's XML: a row's start tag (its number, if written), and a cell value that is
# not empty (``<v>`` or the text of an inline string). Prefixes like ``x:`` are allowed.
_ROW_TAG = re.compile(rb"<(?:[\w.-]+:)?row(?=[\s>/])([^>]*)>")
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')
_VALUE_TAG = re.compile(rb"<(?:[\w.-]+:)?(?:v|t)(?:\s[^>]*)?>[^<]")


def _last_data_row(sheet) -> int:  # noqa: ANN001 - openpyxl's read-only sheet
    """The number of the last row of the sheet that has a value, from its raw XML.

    A sheet may list millions of empty (formatted) rows, or one cell far below the
    data; openpyxl would parse or fill in every one of them. This pass reads the
    decompressed XML in blocks with two regular expressions, at C speed, so nothing
    below the last value needs to be read – and nothing with a value is left out.
    """
    last = current = 0
    with sheet._get_source() as xml:  # the sheet's XML inside the zip, decompressed
        carry = b""
        while block := xml.read(_BLOCK):
            data = carry + block
            cut = data.rfind(b"<")  # every tag before the last "<" is complete
            data, carry = (data[:cut], data[cut:]) if cut > 0 else (data, b"")
            last, current = _scan_sheet_xml(data, last, current)
        last, current = _scan_sheet_xml(carry, last, current)
    return last


def _scan_sheet_xml(data: bytes, last: int, current: int) -> tuple[int, int]:
    """(last row with a value, number of the last row tag) after the block ``data``."""
    value = None
    for value in _VALUE_TAG.finditer(data):  # noqa: B007 - only the last one counts
        pass
    if value is not None:
        last = _row_after(current, _ROW_TAG.findall(data, 0, value.start()))
    return last, _row_after(current, _ROW_TAG.findall(data))


def _row_after(current: int, row_tags: list[bytes]) -> int:
    """The number of the last of ``row_tags`` (their attributes), which follow row
    ``current``; a row without ``r="…"`` is the one after the previous row."""
    for back, attributes in enumerate(reversed(row_tags)):
        if number := _ROW_NUMBER.search(attributes):
            return int(number[1]) + back
    return current + len(row_tags)


def _sheet_rows(
    sheet,  # noqa: ANN001
    first: int = 1,
    sample: bool = False,
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number, values) of every row with a value, up to the last such row.

    After a run of ``EMPTY_RUN`` empty rows the sheet's XML is searched once for its
    last row with a value (``_last_data_row``); reading stops there. A ``sample`` stops
    at such a run: it needs the first rows only.
    """
    last: int | None = None
    empty = 0
    for number, row in _written_rows(sheet, first):
        if not all(_blank(v) for v in row):
            empty = 0
            yield number, row
            continue
        empty += 1
        if empty >= EMPTY_RUN:
            if sample:
                return
            if last is None:
                last = _last_data_row(sheet)
            if number >= last:
                return
            empty = 0


def _written_rows(sheet, first: int) -> Iterator[tuple[int, tuple[Any, ...]]]:  # noqa: ANN001
    """(row number, values) of the rows the sheet's XML lists, from row ``first`` on.

    openpyxl's ``iter_rows`` makes up an empty row for every row number the XML skips
    (one cell at row 3,000,000 costs three million empty rows); its parser does not.
    """
    from openpyxl.worksheet._reader import WorkSheetParser  # pinned: requirements.txt

    workbook = sheet.parent
    with sheet._get_source() as xml:
        parser = WorkSheetParser(
            xml,
            sheet._shared_strings,
            data_only=workbook.data_only,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for number, cells in parser.parse():
            if number >= first:
                yield number, sheet._get_row(cells, values_only=True)


def _xlsx_headers(path: Path) -> tuple[int, tuple[str, ...]]:
    workbook, sheet = _open_sheet(path)
    try:
        for number, row in _sheet_rows(sheet):
            headers = [cell_text(v).strip() for v in row]
            while headers and not headers[-1]:
                headers.pop()
            if headers:
                return number, tuple(headers)
    finally:
        workbook.close()
    raise DataError(N_("The first sheet of the Excel file is empty"))


def _xlsx_chunks(
    info: FileInfo, columns: Sequence[int], chunk_rows: int, sample: bool = False
) -> Iterator[pd.DataFrame]:
    """Chunks of the rows with a value; empty rows are left out (the scan would drop
    them anyway), and nothing below the last row with a value is read."""
    workbook, sheet = _open_sheet(info.path)
    try:
        rows: list[list[Any]] = []
        numbers: list[int] = []
        for number, row in _sheet_rows(sheet, info.header_row + 1, sample):
            width = len(row)
            rows.append([_xlsx_cell(row[c]) if c < width else None for c in columns])
            numbers.append(number)
            if len(rows) == chunk_rows:
                yield pd.DataFrame(rows, index=numbers, columns=list(columns), dtype=object)
                rows, numbers = [], []
        if rows:
            yield pd.DataFrame(rows, index=numbers, columns=list(columns), dtype=object)
    finally:
        workbook.close()


def _blank(value: Any) -> bool:
    return value is None or (type(value) is str and not value.strip())


def _xlsx_cell(value: Any) -> Any:
    if _blank(value):  # a text cell of spaces is an empty cell
        return None
    if isinstance(value, datetime | str | int | float) or value is None:
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    return cell_text(value)

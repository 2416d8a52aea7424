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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd

from ..base import N_, ConfigurationError, DataError, RowError
from .values import cell_text

CHUNK_ROWS = 50_000
_BLOCK = 1 << 20
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


def file_hash(path: str | Path) -> str:
    """sha256 of the file's bytes: the cursor that says "this exact file"."""
    return _scan_bytes(Path(path))[0]


def inspect_file(path: str | Path, name: str | None = None) -> FileInfo:
    """Hash the file and detect its type, encoding, separator and headers; ``name`` is
    what messages call the file (default: its own name)."""
    path = Path(path)
    name = name or path.name
    content_hash, file_type, encoding = _scan_bytes(path)
    if file_type == "xlsx":
        header_row, headers = _xlsx_headers(path)
        return FileInfo(path, "xlsx", None, None, headers, header_row, content_hash, name)
    first_line = _first_line(path, encoding)
    separator = sniff_separator(first_line)
    headers = tuple(h.strip() for h in next(csv.reader([first_line], delimiter=separator), []))
    if not any(headers):
        raise DataError(N_("The first line of the file has no column headers"))
    return FileInfo(path, "csv", encoding, separator, headers, 1, content_hash, name)


def sniff_separator(header_line: str) -> str:
    """The separator that occurs most often in the header line, outside quotes."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {sep: unquoted.count(sep) for sep in _SEPARATORS}
    return max(_SEPARATORS, key=lambda sep: counts[sep])


def iter_chunks(
    info: FileInfo, columns: Sequence[int], chunk_rows: int | None = None
) -> Iterator[pd.DataFrame]:
    """Chunks of the given columns (by position), indexed by spreadsheet row number."""
    chunk_rows = chunk_rows or CHUNK_ROWS
    if info.file_type == "xlsx":
        yield from _xlsx_chunks(info, columns, chunk_rows)
    else:
        yield from _csv_chunks(info, columns, chunk_rows)


def head_rows(info: FileInfo, rows: int) -> list[list[str]]:
    """The first data rows of every column, as display strings."""
    chunks = iter_chunks(info, list(range(len(info.headers))), chunk_rows=rows)
    try:
        frame = next(chunks, None)
    finally:
        chunks.close()
    if frame is None:
        return []
    return [[cell_text(v) for v in row] for row in frame.head(rows).itertuples(index=False)]


def _scan_bytes(path: Path) -> tuple[str, str, str | None]:
    """(content hash, file type, encoding) from one pass over the bytes."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            block = f.read(_BLOCK)
            file_type, encoding = _detect_type(block)
            decoder = codecs.getincrementaldecoder("utf-8")() if encoding == "utf-8" else None
            while block:
                digest.update(block)
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
    return digest.hexdigest(), file_type, encoding


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


def _first_line(path: Path, encoding: str | None) -> str:
    with path.open(encoding=encoding, errors="replace", newline="") as f:
        return f.readline().rstrip("\r\n")


def _csv_chunks(info: FileInfo, columns: Sequence[int], chunk_rows: int) -> Iterator[pd.DataFrame]:
    reader = pd.read_csv(
        info.path,
        sep=info.separator,
        encoding=info.encoding,
        # cp1252 leaves five bytes undefined; one stray byte should not sink a file
        encoding_errors="replace" if info.encoding == "cp1252" else "strict",
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


def _xlsx_headers(path: Path) -> tuple[int, tuple[str, ...]]:
    workbook, sheet = _open_sheet(path)
    try:
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if any(v not in (None, "") for v in row):
                headers = [cell_text(v).strip() for v in row]
                while headers and not headers[-1]:
                    headers.pop()
                return number, tuple(headers)
    finally:
        workbook.close()
    raise DataError(N_("The first sheet of the Excel file is empty"))


def _xlsx_chunks(info: FileInfo, columns: Sequence[int], chunk_rows: int) -> Iterator[pd.DataFrame]:
    workbook, sheet = _open_sheet(info.path)
    try:
        rows: list[list[Any]] = []
        numbers: list[int] = []
        start = info.header_row + 1
        for number, row in enumerate(sheet.iter_rows(min_row=start, values_only=True), start):
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


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, datetime | str | int | float) or value is None:
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    return cell_text(value)

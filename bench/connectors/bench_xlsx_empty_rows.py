"""An .xlsx with millions of empty rows: time of the mapping page's preview and of the
import's validating pass, with peak memory, each in a child process.

Two shapes of the same attack (issue 13, item 3): the rows written out one by one as
``<row r="n"/>`` (``--explicit``, about 60 MB of XML in a small zip) and a single empty
formatted cell far below the data (``--far``, openpyxl fills in the missing rows).

    .venv/bin/python bench/connectors/bench_xlsx_empty_rows.py --rows 3000000

Measured 2026-12-07 (2 shared cores, load ~5), seconds / peak MB of the validating pass:
explicit (7.3 MB) 24.7-45 s / 346 MB before, 2.1 s / 90 MB after; far and space (4 KB)
8.5-13 s (and a refused file: the blank cell read as a row) before, 0.1 s / 81 MB after.
The preview (the mapping page's work) stays at 0.01-0.06 s.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import openpyxl

HEADER = ["Kundennummer", "Auftragsnummer", "Datum", "Netto"]
DATA = [["K1", "A1", "01.02.2024", "10,00"], ["K2", "A2", "02.02.2024", "12,50"]]


def generate(path: Path, empty_rows: int, shape: str, data: bool = True) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in DATA if data else []:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    first = 2 + (len(DATA) if data else 0)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                if shape == "explicit":
                    rows = "".join(f'<row r="{n}"/>' for n in range(first, first + empty_rows))
                else:  # one cell far below: empty, or (``space``) a blank
                    last = first + empty_rows - 1
                    text = " " if shape == "space" else ""
                    rows = (
                        f'<row r="{last}"><c r="A{last}" t="inlineStr"><is>'
                        f'<t xml:space="preserve">{text}</t></is></c></row>'
                    )
                content = content.replace(b"</sheetData>", rows.encode() + b"</sheetData>")
                content = content.replace(
                    b"<sheetData/>", b"<sheetData>" + rows.encode() + b"</sheetData>"
                )
            out.writestr(item, content)


def measure(path: str, what: str) -> dict:
    from wawi_connectors.csv_file import CsvFileConnector, preview

    started = time.perf_counter()
    if what == "preview":
        found = preview(path)
        result = {"rows": len(found.rows)}
    else:
        connector = CsvFileConnector({"path": path})
        try:
            checked = connector.check()
            result = {"lines": checked.lines}
        except Exception as exc:  # noqa: BLE001 - the outcome is what we measure
            result = {"error": str(exc)}
        finally:
            connector.close()
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--child", nargs=2)
    parser.add_argument("--generate", nargs=3)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return
    if args.generate:  # in a process of its own: Linux keeps the peak RSS across exec
        path, rows, shape = args.generate
        generate(Path(path), int(rows), shape)
        return
    with tempfile.TemporaryDirectory() as folder:
        for shape in ("explicit", "far", "space"):
            path = Path(folder) / f"{shape}.xlsx"
            subprocess.run(
                [sys.executable, __file__, "--generate", str(path), str(args.rows), shape],
                check=True,
            )
            for what in ("preview", "check"):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(path), what],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=Path(__file__).parents[2],
                )
                size = path.stat().st_size // 1024
                print(f"{shape:8} {size:6} KB {what:8} {out.stdout.strip()}")


if __name__ == "__main__":
    main()

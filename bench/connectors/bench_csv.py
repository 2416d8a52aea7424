"""Benchmark of the CSV connector: parse time and peak memory for a German order-line export.

The generator writes what a German WaWi exports: UTF-8 with BOM, ``;``, amounts like
``1.234,56``, dates ``dd.mm.yyyy``, customer and order columns repeated on every line,
1-5 lines per order, orders mostly contiguous. The parse runs in a child process so its
peak RSS is its own; it validates the file, then reads both streams and drops the
batches (the app would store them).

    .venv/bin/python bench/connectors/bench_csv.py --lines 1000000
    .venv/bin/python bench/connectors/bench_csv.py --lines 1000000 --scatter 0.05
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HEADERS = [
    "Kundennummer", "Vorname", "Nachname", "Firmenname", "E-Mail", "Telefon", "Mobil", "Ort",
    "Land", "Kundengruppe", "Newsletter", "Auftragsnummer", "Belegdatum", "Firma", "Status",
    "Artikelnummer", "Artikelname", "Warengruppe", "Menge", "Netto", "Brutto", "Währung",
]  # fmt: skip
FIRST = ["Anna", "Bernd", "Claudia", "Dieter", "Eva", "Frank", "Jürgen", "Sabine", "Özlem"]
LAST = ["Müller", "Schmidt", "Größe", "Weber", "Becker", "Hoffmann", "Schäfer", "Koch"]
CITIES = ["Berlin", "München", "Köln", "Hamburg", "Düsseldorf", "Leipzig", "Nürnberg"]
GROUPS = ["Haarpflege", "Styling", "Färben", "Zubehör", "Pflege", "Werkzeug", "Bart"]
STATES = ["abgeschlossen", "versendet", "offen", "storniert", "Retoure"]


def generate(
    path: Path, lines: int, customers: int = 60_000, seed: int = 1, scatter: float = 0.0
) -> None:
    """Write ``lines`` order lines; ``scatter`` moves that share of lines to random places."""
    rng = np.random.default_rng(seed)
    per_order = rng.integers(1, 6, lines)  # an upper bound on the orders needed
    order_of_line = np.repeat(np.arange(len(per_order)), per_order)[:lines]
    orders = order_of_line[-1] + 1
    order_customer = rng.integers(0, customers, orders)
    order_day = np.sort(rng.integers(0, 6 * 365, orders))  # exports are sorted by date
    order_state = rng.choice(len(STATES), orders, p=[0.80, 0.12, 0.02, 0.04, 0.02])
    order_company = rng.integers(0, 2, orders)
    products = 2_000
    price_cents = rng.integers(99, 25_000, products)
    product = rng.integers(0, products, lines)
    quantity = rng.choice([1, 1, 1, 2, 2, 3, 5], lines)
    net = price_cents[product] * quantity
    gross = net * 119 // 100

    cust = order_customer[order_of_line]
    days = pd.Timestamp("2019-01-01") + pd.to_timedelta(order_day, unit="D")
    frame = pd.DataFrame(
        {
            "Kundennummer": np.char.add("K", cust.astype(str)),
            "Vorname": np.array(FIRST)[cust % len(FIRST)],
            "Nachname": np.array(LAST)[cust % len(LAST)],
            "Firmenname": np.where(cust % 10 == 0, "Salon " + np.array(LAST)[cust % 8], ""),
            "E-Mail": np.char.add(np.char.add("kunde", cust.astype(str)), "@example.de"),
            "Telefon": np.char.add("030 ", cust.astype(str)),
            "Mobil": np.where(cust % 3 == 0, np.char.add("0171 ", cust.astype(str)), ""),
            "Ort": np.array(CITIES)[cust % len(CITIES)],
            "Land": "DE",
            "Kundengruppe": np.where(cust % 5 == 0, "Händler", "Endkunde"),
            "Newsletter": np.where(cust % 4 == 0, "nein", "ja"),
            "Auftragsnummer": np.char.add("AU-", (100_000 + order_of_line).astype(str)),
            "Belegdatum": days.strftime("%d.%m.%Y").to_numpy()[order_of_line],
            "Firma": np.array(["Salonbedarf GmbH", "Friseurshop24"])[order_company][order_of_line],
            "Status": np.array(STATES)[order_state][order_of_line],
            "Artikelnummer": np.char.add("ART-", product.astype(str)),
            "Artikelname": np.char.add("Produkt ", product.astype(str)),
            "Warengruppe": np.array(GROUPS)[product % len(GROUPS)],
            "Menge": quantity.astype(str),
            "Netto": _german_amounts(net),
            "Brutto": _german_amounts(gross),
            "Währung": "EUR",
        }
    )
    if scatter:
        moved = rng.random(lines) < scatter
        frame = pd.concat([frame[~moved], frame[moved].sample(frac=1, random_state=seed)])
    frame.to_csv(path, sep=";", index=False, encoding="utf-8-sig", lineterminator="\r\n")


def _german_amounts(cents: np.ndarray) -> np.ndarray:
    values, codes = np.unique(cents, return_inverse=True)
    text = [f"{v // 100:,}".replace(",", ".") + f",{v % 100:02d}" for v in values.tolist()]
    return np.array(text, dtype=object)[codes]


def parse(path: str) -> dict[str, float]:
    """Validate and read both streams; runs in its own process."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from wawi_connectors import ReadContext
    from wawi_connectors.csv_file import CsvFileConnector

    connector = CsvFileConnector({"path": path})
    result: dict[str, float] = {}
    started = time.perf_counter(), time.process_time()

    def lap(name: str, since: tuple[float, float]) -> tuple[float, float]:
        now = time.perf_counter(), time.process_time()
        result[f"{name}_s"], result[f"{name}_cpu_s"] = now[0] - since[0], now[1] - since[1]
        return now

    check = connector.check()
    since = lap("validate", started)
    counts = {}
    for stream in connector.streams:
        counts[stream] = sum(len(b.records) for b in connector.read(stream, ReadContext()))
        since = lap(stream, since)
    lap("total", started)
    result["peak_rss_mb"] = _peak_rss_mb()
    result["load_avg"] = os.getloadavg()[0]
    connector.close()
    assert counts == {"customers": check.customers, "orders": check.orders}, counts
    return {"lines": check.lines, **counts, **result}


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss would include the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=60_000)
    parser.add_argument("--scatter", type=float, default=0.0, help="share of lines moved")
    parser.add_argument("--file", help="parse this file instead of generating one")
    parser.add_argument("--keep", help="write the generated file to this path and keep it")
    parser.add_argument("--parse-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.parse_only:
        print(json.dumps(parse(args.parse_only)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.file or args.keep or Path(tmp) / "export.csv")
        if not args.file:
            began = time.perf_counter()
            generate(path, args.lines, args.customers, scatter=args.scatter)
            print(f"generated {args.lines:,} lines in {time.perf_counter() - began:.1f} s")
        size_mb = path.stat().st_size / 1e6
        child = subprocess.run(
            [sys.executable, __file__, "--parse-only", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(child.stdout)
    print(f"file {size_mb:.0f} MB")
    for key, value in result.items():
        print(f"  {key:<16} {value:>12,.1f}")


if __name__ == "__main__":
    main()

"""Writes a German WaWi order-line export for the sync benchmark.

UTF-8 with BOM, ``;`` separated, amounts like ``1.234,56``, dates ``dd.mm.yyyy``; one row
per order line with the customer and order columns repeated; 1–5 lines per order;
orders sorted by date, as WaWis export them. Deterministic for a seed.

    .venv/bin/python bench/sync/generate.py --lines 1000000 --out bench/out/orders-1m.csv
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

HEADER = (
    "Kundennummer;Vorname;Nachname;Firmenname;E-Mail;Telefon;Ort;Land;Kundengruppe;Newsletter;"
    "Auftragsnummer;Belegdatum;Firma;Status;Artikelnummer;Artikelname;Warengruppe;Menge;Netto;"
    "Brutto;Währung"
)
FIRST = ("Anna", "Bernd", "Claudia", "Dieter", "Eva", "Frank", "Jürgen", "Sabine", "Özlem")
LAST = ("Müller", "Schmidt", "Größe", "Weber", "Becker", "Hoffmann", "Schäfer", "Koch")
CITIES = ("Berlin", "München", "Köln", "Hamburg", "Düsseldorf", "Leipzig", "Nürnberg")
GROUPS = ("Haarpflege", "Styling", "Färben", "Zubehör", "Pflege", "Werkzeug", "Bart")
STATES = ("abgeschlossen", "versendet", "offen", "storniert", "Retoure")
COMPANIES = ("Salonbedarf GmbH", "Friseurshop24")


def german_amount(cents: int) -> str:
    return f"{cents // 100:,}".replace(",", ".") + f",{cents % 100:02d}"


def generate(path: Path, lines: int, customers: int = 60_000, seed: int = 7) -> dict[str, int]:
    """Write ``lines`` order lines to ``path``; returns what it wrote."""
    rng = np.random.default_rng(seed)
    per_order = rng.integers(1, 6, lines)
    order_of_line = np.repeat(np.arange(lines), per_order)[:lines]
    orders = int(order_of_line[-1]) + 1
    order_customer = rng.integers(0, customers, orders)
    order_day = np.sort(rng.integers(0, 6 * 365, orders))
    order_state = rng.choice(len(STATES), orders, p=[0.80, 0.12, 0.02, 0.04, 0.02])
    order_company = rng.integers(0, len(COMPANIES), orders)
    products = 2_000
    price = rng.integers(99, 25_000, products)
    product = rng.integers(0, products, lines)
    quantity = rng.choice([1, 1, 1, 2, 2, 3, 5], lines)
    net = price[product] * quantity

    epoch = np.datetime64("2019-01-01")
    day_text = [
        f"{d.day:02d}.{d.month:02d}.{d.year}"
        for d in (epoch + np.arange(6 * 365)).astype("datetime64[D]").tolist()
    ]
    customer_part = [
        f"K{c};{FIRST[c % 9]};{LAST[c % 8]};{'Salon ' + LAST[c % 8] if c % 10 == 0 else ''};"
        f"kunde{c}@example.de;030 {c};{CITIES[c % 7]};DE;"
        f"{'Händler' if c % 5 == 0 else 'Endkunde'};{'nein' if c % 4 == 0 else 'ja'}"
        for c in range(customers)
    ]
    order_part = [
        f"{customer_part[order_customer[o]]};AU-{100_000 + o};{day_text[order_day[o]]};"
        f"{COMPANIES[order_company[o]]};{STATES[order_state[o]]}"
        for o in range(orders)
    ]
    product_part = [f"ART-{p};Produkt {p};{GROUPS[p % 7]}" for p in range(products)]
    amounts: dict[int, str] = {}
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write(HEADER + "\r\n")
        rows = zip(
            order_of_line.tolist(), product.tolist(), quantity.tolist(), net.tolist(), strict=True
        )
        chunk = []
        for o, p, q, cents in rows:
            gross = cents * 119 // 100
            net_text = amounts.get(cents) or amounts.setdefault(cents, german_amount(cents))
            gross_text = amounts.get(gross) or amounts.setdefault(gross, german_amount(gross))
            chunk.append(f"{order_part[o]};{product_part[p]};{q};{net_text};{gross_text};EUR\r\n")
            if len(chunk) == 50_000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))
    return {"lines": lines, "orders": orders, "customers": len(set(order_customer.tolist()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=60_000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    stats = generate(args.out, args.lines, args.customers)
    print(f"wrote {args.out} in {time.perf_counter() - began:.1f} s: {stats}")


if __name__ == "__main__":
    main()

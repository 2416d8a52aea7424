"""One demo export per test session, read back the way a German user's file is read."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from recovery.demo.generator import HEADER, DemoStats, generate_demo_export

AS_OF = date(2025, 6, 30)
NUMBER_COLUMNS = ("Menge", "Netto", "Brutto")


@dataclass
class Demo:
    path: Path
    stats: DemoStats
    seconds: float  # CPU seconds the generation took
    raw: bytes
    lines: pd.DataFrame  # one row per CSV line, plus Datum and Archetyp
    orders: pd.DataFrame  # one row per Auftragsnummer


def read_export(path: Path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        sep=";",
        decimal=",",
        thousands=".",
        encoding="utf-8-sig",
        # with thousands="." pandas would read 04.07.2022 as a number
        dtype={c: str for c in HEADER if c not in NUMBER_COLUMNS},
        keep_default_na=False,
    )


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    path = tmp_path_factory.mktemp("demo") / "demo.csv"
    started = time.process_time()  # CPU time: other work on the machine does not count
    stats = generate_demo_export(path, AS_OF)
    seconds = time.process_time() - started
    lines = read_export(path)
    lines["Datum"] = pd.to_datetime(lines["Belegdatum"], format="%d.%m.%Y")
    lines["Archetyp"] = lines["Kundennummer"].map(stats.customer_archetypes)
    orders = lines.groupby("Auftragsnummer").agg(
        kunde=("Kundennummer", "first"),
        kunden=("Kundennummer", "nunique"),
        archetyp=("Archetyp", "first"),
        gruppe=("Kundengruppe", "first"),
        datum=("Datum", "first"),
        daten=("Datum", "nunique"),
        firma=("Firma", "first"),
        firmen=("Firma", "nunique"),
        status=("Status", "first"),
        stati=("Status", "nunique"),
        netto=("Netto", "sum"),
    )
    return Demo(path, stats, seconds, path.read_bytes(), lines, orders)

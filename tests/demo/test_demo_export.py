"""The demo WaWi export: determinism, file format, amounts, size and contact data."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import phonenumbers
import pytest

from recovery.demo import data
from recovery.demo.generator import ARCHETYPES, HEADER, generate_demo_export, german_amount

from .conftest import AS_OF, Demo

ROOT = Path(__file__).resolve().parents[2]
AMOUNT = re.compile(r"^\d{1,3}(\.\d{3})*,\d{2}$")
EMAIL = re.compile(r"^[a-z0-9._-]+@([a-z0-9-]+\.)?example\.(de|com|org|net)$")


def cents(amount: str) -> int:
    return int(amount.replace(".", "").replace(",", ""))


def raw_rows(demo: Demo) -> list[list[str]]:
    text = demo.raw.decode("utf-8-sig")
    return [line.split(";") for line in text.split("\r\n")[1:-1]]


# -- determinism ---------------------------------------------------------------------
def test_same_seed_gives_the_same_bytes(demo: Demo, tmp_path: Path) -> None:
    again = tmp_path / "again.csv"
    stats = generate_demo_export(again, AS_OF, seed=42, customers=2400)
    assert again.read_bytes() == demo.raw
    assert stats == demo.stats


def test_other_seed_or_date_gives_another_file(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    generate_demo_export(a, AS_OF, seed=1, customers=200)
    generate_demo_export(b, AS_OF, seed=2, customers=200)
    generate_demo_export(c, AS_OF - timedelta(days=1), seed=1, customers=200)
    assert len({a.read_bytes(), b.read_bytes(), c.read_bytes()}) == 3


def test_command_line_writes_the_same_file_in_another_process(demo: Demo, tmp_path: Path) -> None:
    out = tmp_path / "cli.csv"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-m", "recovery.demo.generator", str(out), "--as-of", AS_OF.isoformat()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "2400 customers" in result.stdout
    assert out.read_bytes() == demo.raw


def test_generation_is_fast(demo: Demo) -> None:
    assert demo.seconds < 5.0


def test_too_few_customers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_demo_export(tmp_path / "x.csv", AS_OF, customers=10)


def test_small_demo_still_has_every_archetype(tmp_path: Path) -> None:
    stats = generate_demo_export(tmp_path / "small.csv", AS_OF, customers=50)
    assert stats.customers == 50
    assert all(stats.archetypes[a] >= 1 for a in ARCHETYPES)


# -- format ----------------------------------------------------------------------------
def test_bom_header_separator_and_crlf(demo: Demo) -> None:
    assert demo.raw.startswith(b"\xef\xbb\xbf")
    text = demo.raw.decode("utf-8-sig")
    assert text.split("\r\n", 1)[0] == ";".join(HEADER)
    assert text.endswith("\r\n")
    assert text.count("\n") == text.count("\r\n") == demo.stats.lines + 1
    assert '"' not in text  # nothing needed quoting
    assert all(len(row) == len(HEADER) for row in raw_rows(demo))


def test_dates_amounts_and_values_are_german(demo: Demo) -> None:
    col = {name: i for i, name in enumerate(HEADER)}
    rows = raw_rows(demo)
    assert all(re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", r[col["Belegdatum"]]) for r in rows)
    assert all(AMOUNT.match(r[col["Netto"]]) and AMOUNT.match(r[col["Brutto"]]) for r in rows)
    assert any("." in r[col["Brutto"]] for r in rows)  # some amounts above 1.000,00
    assert all(r[col["Menge"]].isdigit() and int(r[col["Menge"]]) > 0 for r in rows)
    assert {r[col["Status"]] for r in rows} == {"abgeschlossen", "offen", "storniert", "retoure"}
    assert {r[col["Newsletter"]] for r in rows} == {"ja", "nein"}
    assert {r[col["Land"]] for r in rows} == {"DE", "AT", "CH"}


def test_german_amount() -> None:
    assert german_amount(0) == "0,00"
    assert german_amount(5) == "0,05"
    assert german_amount(123456) == "1.234,56"
    assert german_amount(123456789) == "1.234.567,89"


def test_amounts_parse_back_to_the_right_sums(demo: Demo) -> None:
    col = {name: i for i, name in enumerate(HEADER)}
    rows = raw_rows(demo)
    net = sum(cents(r[col["Netto"]]) for r in rows)
    gross = sum(cents(r[col["Brutto"]]) for r in rows)
    assert Decimal(net) / 100 == demo.stats.net_total
    assert round(demo.lines["Netto"].sum() * 100) == net
    assert round(demo.lines["Brutto"].sum() * 100) == gross
    assert demo.lines["Menge"].dtype.kind == "i"


def test_netto_is_quantity_times_unit_price_and_brutto_adds_vat(demo: Demo) -> None:
    col = {name: i for i, name in enumerate(HEADER)}
    vat_of = {g.name: g.vat for g in data.GROUPS}
    seen_rates = set()
    for r in raw_rows(demo):
        net, gross, qty = cents(r[col["Netto"]]), cents(r[col["Brutto"]]), int(r[col["Menge"]])
        assert net % qty == 0
        rate = 7 if gross == (net * 107 + 50) // 100 else 19
        assert gross == (net * (100 + rate) + 50) // 100
        if r[col["Warengruppe"]] != "Tierbedarf":
            assert rate == vat_of[r[col["Warengruppe"]]]
        seen_rates.add(rate)
    assert seen_rates == {7, 19}


def test_private_customers_pay_list_prices(demo: Demo) -> None:
    price = {sku: p for sku, p in _list_prices().items()}
    b2c = demo.lines[demo.lines["Kundengruppe"] == "Endkunde"]
    unit = (b2c["Netto"] / b2c["Menge"]).round(2)
    assert (unit == b2c["Artikelnummer"].map(price)).all()


def _list_prices() -> dict[str, float]:
    from recovery.demo.catalog import PRODUCTS

    return {p.sku: p.price_cents / 100 for p in PRODUCTS}


# -- content and size ------------------------------------------------------------------
def test_size(demo: Demo) -> None:
    lines, stats = demo.lines, demo.stats
    assert stats.customers == lines["Kundennummer"].nunique() == 2400
    assert stats.lines == len(lines)
    assert 30_000 <= stats.lines <= 60_000
    assert stats.orders == len(demo.orders)
    assert 2 <= stats.companies == lines["Firma"].nunique() <= 3
    assert set(stats.company_names) == set(lines["Firma"])
    assert 10 <= stats.product_groups == lines["Warengruppe"].nunique() <= 14
    assert 120 <= stats.products == lines["Artikelnummer"].nunique() <= 180
    assert lines["Artikelnummer"].str.fullmatch(r"[A-Z]{2}-1\d{3}").all()
    assert (lines.groupby("Artikelnummer")["Artikelname"].nunique() == 1).all()
    assert (lines.groupby("Artikelnummer")["Warengruppe"].nunique() == 1).all()


def test_dates_cover_three_years_up_to_as_of(demo: Demo) -> None:
    first, last = demo.lines["Datum"].min().date(), demo.lines["Datum"].max().date()
    assert last <= AS_OF and (AS_OF - last).days <= 3
    assert 3 * 365 - 30 <= (AS_OF - first).days <= 3 * 365 + 1
    assert (first, last) == (demo.stats.first_order_date, demo.stats.last_order_date)


def test_customer_columns_repeat_on_every_row(demo: Demo) -> None:
    customer_cols = list(HEADER[1 : HEADER.index("Auftragsnummer")])
    per_customer = demo.lines.groupby("Kundennummer")[customer_cols].nunique()
    assert (per_customer == 1).all().all()


def test_one_customer_date_company_and_status_per_order(demo: Demo) -> None:
    o = demo.orders
    assert (o[["kunden", "daten", "firmen", "stati"]] == 1).all().all()
    prefix = {c.name: c.order_prefix for c in data.COMPANIES}
    assert all(n.startswith(prefix[f] + "-") for n, f in zip(o.index, o["firma"], strict=True))


def test_order_values_are_plausible(demo: Demo) -> None:
    o = demo.orders
    assert o["netto"].min() >= 20 and o["netto"].max() <= 5000
    mean = o.groupby("gruppe")["netto"].mean()
    assert mean["Endkunde"] < mean["Gastronomie"] < mean["Händler"] < mean["Großkunde"]
    assert 30 <= mean["Endkunde"] <= 120


def test_cancelled_and_returned_orders_are_sprinkled_in(demo: Demo) -> None:
    share = demo.orders["status"].isin(["storniert", "retoure"]).mean()
    assert 0.02 <= share <= 0.04
    counts = demo.orders["status"].value_counts()
    assert counts["storniert"] == demo.stats.cancelled_orders
    assert counts["retoure"] == demo.stats.returned_orders
    assert counts["offen"] == demo.stats.open_orders


def test_some_customers_buy_from_two_companies(demo: Demo) -> None:
    per_customer = demo.lines.groupby("Kundennummer")["Firma"].nunique()
    assert (per_customer > 1).sum() == demo.stats.multi_company_customers
    assert 0.04 <= (per_customer > 1).mean() <= 0.25


# -- contact data ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def customers(demo: Demo):
    return demo.lines.drop_duplicates("Kundennummer").set_index("Kundennummer")


def test_contact_gaps_and_consent(demo: Demo, customers) -> None:
    assert 0.05 <= (customers["E-Mail"] == "").mean() <= 0.12
    assert 0.30 <= (customers["Mobil"] == "").mean() <= 0.40
    assert 0.15 <= (customers["Newsletter"] == "nein").mean() <= 0.25
    assert (customers["E-Mail"] == "").sum() == demo.stats.customers_without_email
    assert (customers["Mobil"] == "").sum() == demo.stats.customers_without_mobile
    assert (customers["Newsletter"] == "nein").sum() == demo.stats.customers_without_consent


def test_emails_use_example_domains_only_and_are_unique(customers) -> None:
    emails = customers.loc[customers["E-Mail"] != "", "E-Mail"]
    assert emails.map(lambda e: bool(EMAIL.match(e))).all(), emails[~emails.str.match(EMAIL)]
    assert emails.is_unique
    assert emails.str.endswith("@example.de").any() and emails.str.endswith(".com").any()


def test_phone_numbers_are_valid_and_formats_mixed(customers) -> None:
    for _, c in customers.iterrows():
        for column, kind in (("Telefon", "fixed"), ("Mobil", "mobile")):
            if c[column]:
                number = phonenumbers.parse(c[column], c["Land"])
                assert phonenumbers.is_valid_number(number), c[column]
                is_mobile = phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
                assert is_mobile == (kind == "mobile"), c[column]
    de = customers[customers["Land"] == "DE"]
    mobiles = de.loc[de["Mobil"] != "", "Mobil"]
    assert mobiles.str.match(r"^(01|\+49 ?1)").all()
    assert mobiles.str.startswith("01").mean() > 0.4 and mobiles.str.startswith("+49").mean() > 0.2
    phones = de.loc[de["Telefon"] != "", "Telefon"]
    assert phones.str.startswith("0").any() and phones.str.startswith("+49 ").any()


def test_names_places_and_customer_groups(customers) -> None:
    assert customers["Vorname"].nunique() > 80 and customers["Nachname"].nunique() > 100
    assert 0.8 <= (customers["Land"] == "DE").mean() <= 0.95
    assert customers["Ort"].nunique() > 60
    german_cities = {c for c, _, _ in data.CITIES["DE"]}
    assert set(customers.loc[customers["Land"] == "DE", "Ort"]) <= german_cities
    groups = customers["Kundengruppe"].value_counts(normalize=True)
    assert set(groups.index) == {"Endkunde", "Händler", "Gastronomie", "Großkunde"}
    business = customers["Kundengruppe"] != "Endkunde"
    assert 0.25 <= business.mean() <= 0.35
    assert ((customers["Firmenname"] != "") == business).all()

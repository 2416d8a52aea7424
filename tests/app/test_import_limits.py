"""Values that pass a file's checks but not the database (issue 13, item 2): lengths,
amount ranges and control characters are checked against the model columns before
anything is stored, on SQLite and PostgreSQL alike; an API's odd value never breaks a
sync half-way."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from recovery.models import Customer, Order, OrderLine, ProductGroup, SyncRun
from recovery.sources.store import store_limits
from recovery.sources.sync import SyncFailed, run_sync
from tests.app.test_sync import (
    HEADER,
    T0,
    count,
    csv_connector,
    german_csv,
    shop,
    shopware_connector,
)

__all__ = ["shop"]  # the fixture, used below

FIRST = Customer.first_name.type.length
PRODUCT = OrderLine.product_name.type.length
GROUP = ProductGroup.name.type.length
# the largest net amount Money (Numeric(p, s)) takes, as a German file writes it
_P, _S = OrderLine.net_amount.type.precision, OrderLine.net_amount.type.scale
LARGEST = "9" * (_P - _S) + "," + "9" * _S


def line(n: int, first="Eva", name="Samen", net="1,00", group="Saatgut", last="Muster") -> str:
    return (
        f"K-{n};{first};{last};k{n}@example.de;Bonn;Endkunde;A-{n};03.02.2025;Gartenwelt;"
        f"abgeschlossen;ART-1;{name};{group};1;{net};"
    )


def test_limits_come_from_the_model_columns():
    limits = store_limits()

    assert limits.lengths["customer.first_name"] == FIRST
    assert limits.lengths["line.product_name"] == PRODUCT
    assert limits.lengths["order.company"] == Customer.metadata.tables["company"].c.name.type.length
    assert limits.bounds["line.net_amount"] == Decimal(10) ** (_P - _S) - Decimal("0.005")
    assert limits.bounds["line.quantity"] < Decimal(10) ** (
        OrderLine.quantity.type.precision - OrderLine.quantity.type.scale
    )


def test_a_file_with_values_the_database_cannot_hold_is_refused_whole(db, tmp_path):
    good = [line(n) for n in range(6000)]  # more than one batch of 5,000 before the bad rows
    bad = [
        line(7001, first="E" * (FIRST + 1)),
        line(7002, name="Sämerei-" * 40),  # 320 characters
        line(7003, net="1.000.000.000.000,00"),
        line(7004, last="Mül\x00ler"),
        line(7005, group="G" * (GROUP + 1)),
        line(7006, net="600.000.000.000,00"),
        line(7006, net="600.000.000.000,00"),  # each line fits, the order's total does not
    ]
    path = german_csv(tmp_path / "export.csv", [*good, *bad], encoding="utf-8")
    cfg = csv_connector(db, path)

    with pytest.raises(SyncFailed) as failed:
        run_sync(cfg)

    found = {(e.row, e.column): e.reason for e in failed.value.errors}
    assert found == {
        (6002, "Vorname"): f"{FIRST + 1} characters, more than the {FIRST} that can be stored",
        (6003, "Artikelname"): f"320 characters, more than the {PRODUCT} that can be stored",
        (6004, "Netto"): "'1.000.000.000.000,00' is too large: the amounts that can be stored "
        "stay below 1,000,000,000,000",
        (6005, ""): "contains the control character U+0000",
        (6006, "Sortiment"): f"{GROUP + 1} characters, more than the {GROUP} that can be stored",
        (6008, "Netto"): "order A-7006 adds up to 1,200,000,000,000.00: the totals that can be "
        "stored stay below 1,000,000,000,000",
    }
    db.session.expire_all()
    assert count(db, Customer) == count(db, Order) == count(db, OrderLine) == 0
    assert db.session.scalars(select(SyncRun)).one().state == "failed"


def test_values_at_the_limits_are_stored_whole(db, tmp_path):
    lines = [
        line(1, first="E" * FIRST, name="P" * PRODUCT, net=LARGEST, group="G" * GROUP),
        line(2, last="Tab\tund Zeilen-\r\nUmbruch"),
    ]
    path = tmp_path / "export.csv"
    rows = [HEADER, lines[0], lines[1].replace("Tab\tund Zeilen-\r\nUmbruch", '"Tab\tund"')]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("utf-8"))
    cfg = csv_connector(db, path)

    run_sync(cfg)

    customer = db.session.scalars(select(Customer).where(Customer.number == "K-1")).one()
    assert customer.first_name == "E" * FIRST
    order_line = db.session.scalars(
        select(OrderLine).join(Order).where(Order.number == "A-1")
    ).one()
    assert order_line.product_name == "P" * PRODUCT
    assert order_line.net_amount == Decimal(LARGEST.replace(",", "."))
    assert db.session.scalars(select(Order).where(Order.number == "A-1")).one().net_total == (
        Decimal(LARGEST.replace(",", "."))
    )
    assert count(db, Order) == 2


def test_an_api_value_that_does_not_fit_never_breaks_a_sync_half_way(db, shop):
    long_name = "Nachname-" * 30  # 270 characters, the column takes 200
    customer = shop.add_customer(
        "lang@example.de", "Lena\x00", long_name, created=T0 + timedelta(hours=9)
    )
    shop.add_order(
        customer,
        created=T0 + timedelta(days=2),
        state="completed",
        lines=[{"label": "Bohrer " * 60, "sku": "SW-2", "quantity": 1, "unit_gross": "9.90"}],
    )
    shop.add_order(  # an amount no Money column takes: this order is left out, alone
        customer,
        created=T0 + timedelta(days=3),
        state="completed",
        lines=[{"label": "Gold", "sku": "SW-3", "quantity": 1, "unit_gross": "9" * 16}],
    )
    cfg = shopware_connector(db, shop)

    result = run_sync(cfg)

    assert result.run.state == "done"
    stored = db.session.scalars(select(Customer).where(Customer.email == "lang@example.de")).one()
    assert stored.last_name == long_name[: Customer.last_name.type.length]
    assert stored.first_name == "Lena"
    assert count(db, Order, source="shop") == 8  # 7 + the one with the long label
    label = db.session.scalars(select(OrderLine.product_name).where(OrderLine.sku == "SW-2")).one()
    assert label == ("Bohrer " * 60)[:PRODUCT]
    reasons = [note["reason"] for note in result.notes]
    assert any("last name shortened from 270 to 200 characters" in r for r in reasons)
    assert any("control characters removed from first name" in r for r in reasons)
    assert any(", line 1 not stored: net amount " in r and "too large" in r for r in reasons)
    run = db.session.get(SyncRun, result.run.id)
    assert run.error.startswith("2 values shortened, 1 records not stored")


def test_the_job_page_names_what_was_shortened_in_the_readers_words(
    client, login_as, db, shop, run_jobs
):
    from recovery.sources.jobs import start_sync

    customer = shop.add_customer("lang@example.de", "Lena", "N" * 250, created=T0)
    shop.add_order(
        customer,
        created=T0 + timedelta(days=2),
        lines=[{"label": "Gold", "sku": "SW-3", "quantity": 1, "unit_gross": "9" * 16}],
    )
    cfg = shopware_connector(db, shop)
    admin = login_as("admin")
    start_sync(cfg, full=True, user_id=admin.id)
    assert run_jobs() == 1

    page = client.get(f"/admin/connectors/{cfg.id}").get_data(as_text=True)

    assert "job-done" in page and "Einige Werte passten nicht in die Datenbank" in page
    assert ": Nachname von 250 auf 200 Zeichen gekürzt" in page
    assert ", Position 1 nicht gespeichert: Nettobetrag " in page and "ist zu groß" in page

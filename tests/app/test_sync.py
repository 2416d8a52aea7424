"""recovery/sources/sync.py against a real database: batches with cursors, faults and resume,
the lease (one sync per connector), look-back, secrets at rest, the CLI's exit code."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from recovery.analysis.prepare import prepare
from recovery.cases.order_lines import load_lines
from recovery.models import (
    ConnectorConfig,
    Customer,
    JobRun,
    Order,
    OrderLine,
    ProductGroup,
    SyncCursor,
    SyncRun,
    business_tz,
    utcnow,
)
from recovery.sources.secrets import decrypt, encrypt, redact
from recovery.sources.sync import (
    READ_AHEAD,
    SyncBusy,
    SyncFailed,
    build_connector,
    lease_owner,
    read_ahead,
    run_sync,
    take_lease,
)
from tests.fakes.shopware import CLIENT_ID, CLIENT_SECRET, FakeShopware
from wawi_connectors import Batch, ConnectorError

T0 = datetime(2024, 5, 1, 10, tzinfo=UTC)
HEADER = (
    "Kundennummer;Vorname;Nachname;E-Mail;Ort;Kundengruppe;Belegnummer;Belegdatum;Firma;"
    "Status;Artikelnummer;Artikelname;Sortiment;Menge;Netto;Brutto"
)
GOOD_LINES = (
    "K-1001;Jürgen;Müller;Juergen@Example.de;Köln;Endkunde;A-5001;03.02.2025;Gartenwelt GmbH;"
    "abgeschlossen;ART-1;Tomatensamen;Saatgut;2;1.234,56;1.469,13",
    "K-1001;Jürgen;Müller;Juergen@Example.de;Köln;Endkunde;A-5001;03.02.2025;Gartenwelt GmbH;"
    "abgeschlossen;ART-2;Hornspäne;Dünger;1;10,00;11,90",
    "K-1002;Sabine;Größe;sabine@example.de;München;Händler;A-5002;15.03.2025;Gartenwelt GmbH;"
    "storniert;ART-1;Tomatensamen;Saatgut;1;617,28;734,56",
    "K-1003;Özlem;Weiß;;Hamburg;Endkunde;A-5003;01.04.2025 14:30;Pflanzenhof;offen;"
    "ART-3;Gießkanne;Zubehör;3;45,90;54,62",
)


def german_csv(path: Path, lines=GOOD_LINES, encoding: str = "cp1252") -> Path:
    """An order-line export as German WaWis write it: cp1252, ``;``, 1.234,56, dd.mm.yyyy."""
    path.write_bytes(("\r\n".join([HEADER, *lines]) + "\r\n").encode(encoding))
    return path


MAPPING = {
    "customer_number": "Kundennummer",
    "first_name": "Vorname",
    "last_name": "Nachname",
    "email": "E-Mail",
    "city": "Ort",
    "customer_group": "Kundengruppe",
    "order_number": "Belegnummer",
    "ordered_at": "Belegdatum",
    "company": "Firma",
    "state": "Status",
    "sku": "Artikelnummer",
    "product_name": "Artikelname",
    "product_group": "Sortiment",
    "quantity": "Menge",
    "net_amount": "Netto",
    "gross_amount": "Brutto",
}


def csv_connector(db, path: Path, name: str = "wawi-export") -> ConnectorConfig:
    cfg = ConnectorConfig(name=name, kind="csv", settings={"path": str(path), "mapping": MAPPING})
    db.session.add(cfg)
    db.session.commit()
    return cfg


def count(db, model, **where) -> int:
    stmt = select(func.count()).select_from(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return db.session.scalar(stmt)


def distinct_orders(db, source: str) -> int:
    return db.session.scalar(
        select(func.count(func.distinct(Order.external_id))).where(Order.source == source)
    )


# -- the CSV path ------------------------------------------------------------------------


def test_german_csv_is_stored_with_lines_groups_and_cursor(db, tmp_path):
    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))
    result = run_sync(cfg)
    assert result.rows == {"customers": 3, "orders": 3}
    assert count(db, Customer) == 3 and count(db, Order) == 3 and count(db, OrderLine) == 4
    juergen = db.session.scalar(select(Customer).where(Customer.external_id == "K-1001"))
    assert (juergen.first_name, juergen.last_name, juergen.city) == ("Jürgen", "Müller", "Köln")
    assert juergen.email == "juergen@example.de"
    order = db.session.scalar(select(Order).where(Order.external_id == "A-5001"))
    assert order.customer_id == juergen.id and order.net_total == Decimal("1244.56")
    assert order.ordered_at == datetime(2025, 2, 2, 23, tzinfo=UTC)  # 03.02. in Berlin
    assert order.company.name == "Gartenwelt GmbH"
    lines = {line.sku: line for line in order.lines}
    assert lines["ART-1"].net_amount == Decimal("1234.56")
    assert lines["ART-1"].quantity == Decimal(2)
    assert lines["ART-2"].product_group.name == "Dünger"
    cancelled = db.session.scalar(select(Order).where(Order.external_id == "A-5002"))
    assert cancelled.state == "cancelled"
    run = db.session.scalar(select(SyncRun))
    assert run.state == "done" and run.rows == {"customers": 3, "orders": 3}
    cursor = db.session.get(SyncCursor, (cfg.id, "orders"))
    assert cursor.value and len(cursor.value) == 64  # the file's hash


def test_reimport_of_the_same_file_duplicates_nothing(db, tmp_path):
    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))
    run_sync(cfg)
    again = run_sync(cfg)
    assert again.rows == {"customers": 0, "orders": 0}  # the cursor says: this file is in
    full = run_sync(cfg, full=True)
    assert full.rows == {"customers": 3, "orders": 3}
    assert count(db, Customer) == 3 and count(db, Order) == 3 and count(db, OrderLine) == 4
    assert count(db, ProductGroup) == 3


def test_a_changed_order_replaces_its_lines_and_keeps_customer_ids(db, tmp_path):
    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))
    run_sync(cfg)
    customer_id = db.session.scalar(select(Customer.id).where(Customer.external_id == "K-1001"))
    changed = [GOOD_LINES[0].replace("abgeschlossen", "Retoure"), *GOOD_LINES[2:]]
    german_csv(tmp_path / "export.csv", changed)
    run_sync(cfg)
    db.session.expire_all()
    order = db.session.scalar(select(Order).where(Order.external_id == "A-5001"))
    assert order.state == "returned" and [li.sku for li in order.lines] == ["ART-1"]
    assert order.net_total == Decimal("1234.56") and order.customer_id == customer_id
    assert count(db, Customer) == 3 and count(db, Order) == 3


# A WaWi export carries the status per position: one line of an order cancelled or
# returned, the others completed (#12.1).
POSITION_LINES = (
    "K-2001;Jörg;Schäfer;joerg@example.de;Graz;Endkunde;A-7001;30.08.2025;Gartenwelt GmbH;"
    "abgeschlossen;ART-1;Tomatensamen;Saatgut;2;1.234,56;1.469,13",
    "K-2001;Jörg;Schäfer;joerg@example.de;Graz;Endkunde;A-7001;30.08.2025;Gartenwelt GmbH;"
    "storniert;ART-2;Hornspäne;Dünger;1;99,90;118,88",
    "K-2001;Jörg;Schäfer;joerg@example.de;Graz;Endkunde;A-7001;30.08.2025;Gartenwelt GmbH;"
    "abgeschlossen;ART-3;Gießkanne;Zubehör;1;10,00;11,90",
    "K-2002;Frauke;Möller;;Zürich;Händler;A-7002;01.09.2025;Gartenwelt GmbH;"
    "storniert;ART-1;Tomatensamen;Saatgut;1;617,28;734,56",
    "K-2002;Frauke;Möller;;Zürich;Händler;A-7002;01.09.2025;Gartenwelt GmbH;"
    "storniert;ART-3;Gießkanne;Zubehör;1;10,00;11,90",
    "K-2003;Ülkü;Demir;;Köln;Endkunde;A-7003;02.09.2025;Pflanzenhof;"
    "Retoure;ART-1;Tomatensamen;Saatgut;1;617,28;734,56",
    "K-2003;Ülkü;Demir;;Köln;Endkunde;A-7003;02.09.2025;Pflanzenhof;"
    "offen;ART-3;Gießkanne;Zubehör;3;30,00;35,70",
)


def test_cancelled_positions_are_imported_and_add_no_revenue(db, tmp_path):
    cfg = csv_connector(db, german_csv(tmp_path / "export.csv", POSITION_LINES))
    assert run_sync(cfg).rows == {"customers": 3, "orders": 3}

    orders = {o.external_id: o for o in db.session.scalars(select(Order))}
    partly = orders["A-7001"]  # one position cancelled: the order is what its live lines are
    assert partly.state == "completed"
    assert (partly.net_total, partly.gross_total) == (Decimal("1244.56"), Decimal("1481.03"))
    assert [(li.sku, li.state) for li in partly.lines] == [
        ("ART-1", "completed"),
        ("ART-2", "cancelled"),
        ("ART-3", "completed"),
    ]
    whole = orders["A-7002"]  # every position cancelled: the order is cancelled
    assert whole.state == "cancelled" and whole.net_total == Decimal("627.28")
    returned = orders["A-7003"]  # a returned position, the other still open
    assert returned.state == "open" and returned.net_total == Decimal("30.00")

    lines = load_lines(business_tz())
    state_of = dict(zip(lines["net_amount"].round(2), lines["state"].astype(str), strict=True))
    assert state_of[99.9] == "cancelled" and state_of[30.0] == "open"
    prepared = prepare(lines, "2025-09-30")
    revenue = dict(zip(prepared.customer_ids[prepared.o_cust], prepared.o_amount, strict=True))
    ids = {c.external_id: c.id for c in db.session.scalars(select(Customer))}
    assert revenue[ids["K-2001"]] == pytest.approx(1244.56)
    assert revenue[ids["K-2002"]] == 0 and revenue[ids["K-2003"]] == 0


def test_bad_file_stores_nothing_and_keeps_the_cursor(db, tmp_path):
    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))
    run_sync(cfg)
    before = db.session.get(SyncCursor, (cfg.id, "orders")).value
    bad = [
        *GOOD_LINES,
        "K-1004;Max;Muster;;Bonn;Endkunde;A-5004;31.02.2025;Pflanzenhof;offen;ART-1;X;Saatgut;1;"
        "abc;1,00",
        ";Eva;Leer;;Bonn;Endkunde;A-5005;01.03.2025;Pflanzenhof;offen;ART-1;X;Saatgut;1;2,00;",
    ]
    german_csv(tmp_path / "export.csv", bad)
    with pytest.raises(SyncFailed) as failed:
        run_sync(cfg)
    assert "3 errors" in str(failed.value) and "nothing was imported" in str(failed.value)
    found = {(e.row, e.column) for e in failed.value.errors}
    assert {(6, "Belegdatum"), (6, "Netto"), (7, "Kundennummer")} <= found
    db.session.expire_all()
    assert count(db, Customer) == 3 and count(db, Order) == 3 and count(db, OrderLine) == 4
    assert db.session.get(SyncCursor, (cfg.id, "orders")).value == before
    run = db.session.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()
    assert run.state == "failed" and "row 6, column Netto" in run.error


# -- HTTP sources: a fault in the middle, then resume --------------------------------------


@pytest.fixture
def shop():
    shop = FakeShopware()
    for n in range(7):
        customer = shop.add_customer(
            f"kunde{n}@example.de", "Kunde", f"Nummer{n}", created=T0 + timedelta(hours=n)
        )
        shop.add_order(
            customer,
            created=T0 + timedelta(days=1, hours=n),
            state="completed",
            lines=[{"label": "Akku-Bohrer", "sku": "SW-1", "quantity": 1, "unit_gross": "119.00"}],
        )
    with shop.server() as server:
        shop.url = server.url
        yield shop


def shopware_connector(db, shop, **settings) -> ConnectorConfig:
    cfg = ConnectorConfig(
        name="shop",
        kind="shopware6",
        settings={
            "base_url": shop.url,
            "client_id": CLIENT_ID,
            "page_size": 2,
            "max_retries": 1,
            "connect_timeout": 2,
            "read_timeout": 2,
            **settings,
        },
        secrets=encrypt({"client_secret": CLIENT_SECRET}),
    )
    db.session.add(cfg)
    db.session.commit()
    return cfg


def test_fault_mid_paging_fails_keeps_batches_and_the_next_run_resumes(db, shop):
    cfg = shopware_connector(db, shop)

    def break_after_first_order_page(stream: str, rows: int) -> None:
        if stream == "orders" and rows == 2:  # beyond the retry limit: 1 retry, 2 faults
            shop.faults.add("status", status=503, times=2, path="/api/search/order")

    with pytest.raises(SyncFailed) as failed:
        run_sync(cfg, progress=break_after_first_order_page)
    assert "HTTP 503" in str(failed.value) and "gave up after 2 attempts" in str(failed.value)
    run = db.session.scalars(select(SyncRun)).one()
    assert run.state == "failed" and "HTTP 503" in run.error
    committed = run.rows["orders"]  # the pages read ahead before the fault count too
    assert run.rows["customers"] == 7 and 2 <= committed < 7
    assert distinct_orders(db, "shop") == committed  # the committed pages stayed
    resumed = run_sync(cfg)
    assert resumed.rows["orders"] == 7 - committed  # only what was missing
    assert count(db, Order, source="shop") == distinct_orders(db, "shop") == 7
    assert count(db, OrderLine) == 7
    assert count(db, Customer, source="shop") == 7


def test_lookback_days_come_from_the_connector(db, shop):
    cfg = shopware_connector(db, shop)
    cfg.lookback_days = 0
    db.session.commit()
    run_sync(cfg)
    searches = shop.count("/api/search/order")
    run_sync(cfg)  # nothing new, no look-back: one empty page per phase
    without = shop.count("/api/search/order") - searches
    cfg.lookback_days = 3650
    db.session.commit()
    before = shop.count("/api/search/order")
    result = run_sync(cfg)
    assert shop.count("/api/search/order") - before > without
    assert result.rows["orders"] == 7  # the recent orders were read again
    assert count(db, Order) == 7


def test_wrong_secret_fails_without_revealing_it(db, shop):
    cfg = shopware_connector(db, shop)
    cfg.secrets = encrypt({"client_secret": "wrong-but-secret-value"})
    db.session.commit()
    with pytest.raises(SyncFailed) as failed:
        run_sync(cfg)
    assert "authentication failed" in str(failed.value)
    run = db.session.scalars(select(SyncRun)).one()
    assert "wrong-but-secret-value" not in run.error


# -- the lease: one sync per connector -----------------------------------------------------


def test_second_sync_while_one_holds_the_lease_is_refused(db, tmp_path):
    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))
    assert take_lease(cfg.id, "otherhost/1234/-")
    db.session.commit()
    assert not take_lease(cfg.id, "thirdhost/1/-")  # the database refuses a second holder
    db.session.rollback()
    with pytest.raises(SyncBusy):
        run_sync(cfg)
    assert count(db, SyncRun) == 0 and count(db, Customer) == 0


def test_expired_lease_and_lease_of_a_dead_process_are_taken_over(db, tmp_path):
    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    cfg.sync_owner = f"{socket.gethostname()}/{dead}/-"
    cfg.sync_lease_until = utcnow() + timedelta(minutes=5)
    db.session.add(SyncRun(connector_id=cfg.id, state="running", rows={}))
    db.session.commit()
    run_sync(cfg)
    states = sorted(db.session.scalars(select(SyncRun.state)))
    assert states == ["done", "failed"]  # the dead run is closed as interrupted
    cfg.sync_owner, cfg.sync_lease_until = "otherhost/1/-", utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert run_sync(cfg, full=True).rows["orders"] == 3
    db.session.refresh(cfg)
    assert cfg.sync_owner is None  # released at the end


def test_a_run_that_lost_its_lease_stores_nothing_more(db, tmp_path):
    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))

    def steal(stream: str, rows: int) -> None:
        # another run takes the lease over while the customers' batch commits
        db.session.execute(
            text("UPDATE connector SET sync_owner = 'thief/1/-' WHERE id = :id"), {"id": cfg.id}
        )

    with pytest.raises(SyncFailed, match="another sync"):
        run_sync(cfg, progress=steal)
    assert count(db, Customer) == 3 and count(db, Order) == 0
    assert db.session.get(SyncCursor, (cfg.id, "orders")) is None
    assert db.session.scalar(select(SyncRun.state)) == "failed"


# -- secrets at rest -------------------------------------------------------------------------


def test_secrets_are_encrypted_and_survive_key_rotation(app, db):
    token = encrypt({"client_secret": "s3cr3t-value"})
    assert "s3cr3t" not in token and decrypt(token) == {"client_secret": "s3cr3t-value"}
    old_key = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY="a-new-key", SECRET_KEY_FALLBACKS=[old_key])
    try:
        assert decrypt(token) == {"client_secret": "s3cr3t-value"}
        app.config["SECRET_KEY_FALLBACKS"] = []
        with pytest.raises(Exception, match="cannot be decrypted"):
            decrypt(token)
    finally:
        app.config.update(SECRET_KEY=old_key, SECRET_KEY_FALLBACKS=[])
    assert redact("url postgresql://u:p%40ss-word@h", ["p@ss-word"]) == "url postgresql://u:•••@h"


def test_build_connector_merges_decrypted_secrets(db):
    cfg = ConnectorConfig(
        name="shop",
        kind="shopware6",
        settings={"base_url": "https://shop.example", "client_id": "id"},
        secrets=encrypt({"client_secret": "from-the-vault"}),
    )
    connector = build_connector(cfg)
    assert connector.settings["client_secret"] == "from-the-vault"
    connector.close()


# -- the command line --------------------------------------------------------------------------


def test_cli_sync_exits_non_zero_with_a_clear_message(app, db, tmp_path):
    cfg = csv_connector(db, tmp_path / "missing.csv")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["recovery", "sync", "--connector", cfg.name])
    assert result.exit_code == 1
    assert "failed: File not found" in result.output
    german_csv(tmp_path / "missing.csv")
    result = runner.invoke(args=["recovery", "sync", "--connector", cfg.name])
    assert result.exit_code == 0, result.output
    assert "customers: 3, orders: 3" in result.output


def test_lease_owner_names_this_process():
    assert lease_owner(7) == f"{socket.gethostname()[:80]}/{os.getpid()}/7"


def test_read_ahead_keeps_the_order_raises_read_errors_and_stops_with_the_caller():
    def batches(count: int, fail_at: int | None = None):
        for n in range(count):
            if n == fail_at:
                raise ConnectorError("broken page")
            produced.append(n)
            yield Batch("orders", [], str(n))

    produced: list[int] = []
    assert [b.cursor for b in read_ahead(batches(50))] == [str(n) for n in range(50)]
    with pytest.raises(ConnectorError, match="broken page"):
        list(read_ahead(batches(50, fail_at=7)))
    produced.clear()
    with closing(read_ahead(batches(10_000))) as reading:
        assert next(reading).cursor == "0"
    assert len(produced) <= 2 + READ_AHEAD  # the reader stopped soon after the caller


def test_an_import_whose_worker_died_runs_again_after_the_sync_that_took_over(
    client, db, tmp_path, login_as, run_jobs
):
    """A worker killed mid-import, then another sync takes the connector over before the
    dead job's lease runs out: the interrupted import goes back to the queue (storing is
    by external id, so it completes what was left half-done) instead of staying failed."""
    from recovery.jobs import enqueue

    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    cfg.sync_owner = f"{socket.gethostname()}/{dead}/-"
    cfg.sync_lease_until = utcnow() + timedelta(minutes=5)
    interrupted = enqueue("sync", {"connector_id": cfg.id, "full": True})
    interrupted.state, interrupted.attempts = "running", 1
    interrupted.lease_owner, interrupted.lease_until = "deadhost/1", utcnow() + timedelta(minutes=9)
    db.session.add(SyncRun(connector_id=cfg.id, state="running", rows={}))
    db.session.commit()
    run_sync(cfg)  # the sync that takes over
    db.session.expire_all()
    again = db.session.get(JobRun, interrupted.id)
    assert (again.state, again.lease_owner) == ("queued", None)
    assert run_jobs() == 1
    assert db.session.get(JobRun, interrupted.id).state == "done"
    login_as("admin")
    page = client.get(f"/admin/connectors/{cfg.id}").get_data(as_text=True)
    assert "unterbrochen: Der Prozess" in page and "interrupted:" not in page

"""An admin connects a German CSV export in the browser: new connector, upload, correct
one drop-down of the mapping, import, and the sync log shows what arrived."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from recovery.models import Order, ProductGroup, SavedMapping
from tests.app.test_sync import GOOD_LINES, german_csv
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_admin_imports_a_german_csv_with_a_corrected_mapping(page, shot, db, tmp_path, worker):
    admin = make_user("admin", name="Anna Admin")
    log_in(page, admin.email, PASSWORD)
    page.wait_for_selector(".topbar")
    page.goto("/admin/connectors")
    page.select_option("select[name=kind]", "csv")
    page.click("text=Datenquelle anlegen")
    page.fill("input[name=name]", "wawi-export")
    page.fill("input[name=customer_url]", "https://wawi.example/kunden/{number}")
    assert "https://wawi.example/kunden/10001" in page.inner_text(".url-patterns")  # live example
    shot("connectors-01-new")
    page.click("text=Datenquelle speichern")
    page.wait_for_selector(".flash-success")

    export = german_csv(tmp_path / "Auftragspositionen März.csv")
    page.set_input_files("input[type=file]", str(export))
    page.click("text=Hochladen und prüfen")
    page.wait_for_selector(".mapping-form")
    assert "cp1252" in page.inner_text(".file-facts")
    assert "Jürgen" in page.inner_text(".preview")
    group = page.locator("select[name=map_product_group]")
    assert group.input_value() == ""  # "Sortiment" is not a header name we know
    group.select_option("Sortiment")
    shot("connectors-02-mapping")
    page.click("text=Datei importieren")
    assert "Abgleich gestartet" in page.inner_text(".flash-info")
    # the worker imports the file; connectors.js reloads the page when the job has ended
    page.wait_for_selector(".job-box.job-done", timeout=60_000)
    log = page.inner_text("table.sync-log")
    assert "Kunden 3 · Bestellungen 3" in log and "fertig" in log
    assert "Auftragspositionen März.csv" in page.inner_text("main")
    shot("connectors-03-log")

    assert db.session.scalar(select(func.count(Order.id))) == 3
    assert db.session.scalar(select(func.count(ProductGroup.id))) == 3
    assert db.session.scalars(select(SavedMapping)).one().mapping["product_group"] == "Sortiment"

    page.goto("/admin/connectors")
    assert "wawi-export" in page.inner_text("table.grid")
    shot("connectors-04-list")

    # a file with errors: refused whole, the rows listed, the saved mapping filled in
    bad = [*GOOD_LINES, GOOD_LINES[0].replace("A-5001", "A-5009").replace("1.234,56", "zwölf")]
    page.click("text=wawi-export")
    page.set_input_files("input[type=file]", str(german_csv(tmp_path / "fehler.csv", bad)))
    page.click("text=Hochladen und prüfen")
    page.wait_for_selector(".mapping-form")
    assert page.locator("select[name=map_product_group]").input_value() == "Sortiment"
    page.click("text=Datei importieren")
    page.wait_for_selector("table.row-errors", timeout=60_000)
    assert "abgelehnt" in page.inner_text(".job-box")
    assert "Netto" in page.inner_text("table.row-errors") and "zwölf" in page.inner_text(
        "table.row-errors"
    )
    shot("connectors-07-refused")
    assert db.session.scalar(select(func.count(Order.id))) == 3


def test_sync_now_runs_in_the_worker_and_the_page_follows_it(page, shot, db, tmp_path, worker):
    from tests.app.test_sync import csv_connector

    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))
    admin = make_user("admin", name="Anna Admin")
    log_in(page, admin.email, PASSWORD)
    page.wait_for_selector(".topbar")
    page.goto(f"/admin/connectors/{cfg.id}")
    page.click("text=Jetzt syncen")
    page.wait_for_selector(".flash-info")
    assert "Abgleich gestartet" in page.inner_text(".flash-info")
    shot("connectors-05-running")
    # connectors.js polls the status and reloads the page when the job has ended
    page.wait_for_selector(".job-box.job-done", timeout=60_000)
    assert "Kunden 3 · Bestellungen 3" in page.inner_text("table.sync-log")
    shot("connectors-06-finished")

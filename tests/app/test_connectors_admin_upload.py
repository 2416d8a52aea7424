"""CSV / Excel upload: preview and mapping page, import as a sync job, a refused file
stores nothing, saved mappings come back for the next file, re-imports never duplicate."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from recovery.jobs.worker import JobRunner
from recovery.models import (
    ConnectorConfig,
    Customer,
    JobRun,
    Order,
    OrderLine,
    ProductGroup,
    SavedMapping,
    SyncCursor,
    SyncRun,
)
from tests.app.test_sync import GOOD_LINES, HEADER, german_csv
from tests.conftest import csrf_from

BAD_ROW = (
    "K-1009;Max;Muster;;Bonn;Endkunde;A-59{n:02d};31.02.2025;Pflanzenhof;offen;ART-1;X;Saatgut;"
    "1;viel;1,00"
)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture(autouse=True)
def uploads(app, tmp_path):
    """An upload folder of each test's own."""
    old = app.config["UPLOAD_FOLDER"]
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    yield
    app.config["UPLOAD_FOLDER"] = old


@pytest.fixture
def connector(client, login_as, db) -> ConnectorConfig:
    login_as("admin")
    page = client.get("/admin/connectors/new?kind=csv").get_data(as_text=True)
    assert "Zeitzone" in page
    form = {
        "name": "wawi-export",
        "enabled": "on",
        "lookback_days": "30",
        "timezone": "Europe/Berlin",
        "default_currency": "EUR",
        "csrf_token": csrf_from(page),
    }
    assert client.post("/admin/connectors/new?kind=csv", data=form).status_code == 302
    return db.session.scalar(select(ConnectorConfig))


def upload(client, cfg, content: bytes, name: str = "Export März.csv"):
    detail = client.get(f"/admin/connectors/{cfg.id}").get_data(as_text=True)
    return client.post(
        f"/admin/connectors/{cfg.id}/upload",
        data={"file": (io.BytesIO(content), name), "csrf_token": csrf_from(detail)},
        content_type="multipart/form-data",
    )


def csv_bytes(tmp_path: Path, lines=GOOD_LINES) -> bytes:
    return german_csv(tmp_path / "export.csv", lines).read_bytes()


def selected(html: str) -> dict[str, str]:
    """What each mapping drop-down shows."""
    found = {}
    for field, body in re.findall(r'<select name="map_(\w+)"[^>]*>(.*?)</select>', html, re.S):
        choice = re.search(r'<option value="([^"]*)" selected>', body)
        found[field] = choice.group(1) if choice else ""
    return found


def choose(client, mapping_url: str, changes: dict[str, str] | None = None):
    """Import with the mapping shown (and ``changes``)."""
    html = client.get(mapping_url).get_data(as_text=True)
    form = {f"map_{k}": v for k, v in selected(html).items()}
    form.update({f"map_{k}": v for k, v in (changes or {}).items()})
    form["csrf_token"] = csrf_from(html)
    return client.post(mapping_url, data=form, follow_redirects=True)


def confirm(client, mapping_url: str, changes: dict[str, str] | None = None):
    """Import, let the worker run the import job; the connector's page afterwards."""
    response = choose(client, mapping_url, changes)
    assert "Abgleich gestartet" in response.get_data(as_text=True)
    assert JobRunner("test-worker", echo=lambda _line: None).run(once=True) == 1
    return client.get(response.request.path)


def test_german_csv_upload_mapping_and_import(client, db, connector, tmp_path, app):
    response = upload(client, connector, csv_bytes(tmp_path))
    assert response.status_code == 302
    mapping_url = response.headers["Location"]
    html = client.get(mapping_url).get_data(as_text=True)
    assert "Export März.csv" in html and "cp1252" in html and "Semikolon" in html
    assert "Jürgen" in html and "1.234,56" in html  # the first rows, as in the file
    for label in ("Kundennummer", "Belegdatum", "Netto", "Warengruppe"):
        assert label in html
    shown = selected(html)
    assert shown["customer_number"] == "Kundennummer" and shown["net_amount"] == "Netto"
    assert shown["product_group"] == ""  # "Sortiment" is not a name we know
    stored = list(Path(app.config["UPLOAD_FOLDER"]).glob("*.csv"))
    assert len(stored) == 1 and re.fullmatch(r"[0-9a-f]{32}\.csv", stored[0].name)

    page = confirm(client, mapping_url, {"product_group": "Sortiment"}).get_data(as_text=True)
    assert "job-done" in page and "Kunden 3 · Bestellungen 3" in page
    assert "Export März.csv" in page  # the current file
    assert count(db, Customer) == 3 and count(db, Order) == 3 and count(db, OrderLine) == 4
    assert {g.name for g in db.session.scalars(select(ProductGroup))} == {
        "Saatgut",
        "Dünger",
        "Zubehör",
    }
    saved = db.session.scalars(select(SavedMapping)).one()
    assert saved.mapping["product_group"] == "Sortiment"
    db.session.expire_all()
    cfg = db.session.get(ConnectorConfig, connector.id)
    assert cfg.settings["path"] == str(stored[0]) and cfg.settings["mapping"] == saved.mapping
    job = db.session.scalars(select(JobRun)).one()
    assert job.state == "done" and job.params["file_name"] == "Export März.csv"
    assert job.params["full"] is True


def test_firma_and_mandant_are_told_apart_by_their_values(client, db, connector, tmp_path):
    from tests.connectors.test_csv_mapping import wawi_export_with_firma_and_mandant

    content = wawi_export_with_firma_and_mandant(tmp_path).read_bytes()
    mapping_url = upload(client, connector, content).headers["Location"]
    html = client.get(mapping_url).get_data(as_text=True)

    shown = selected(html)
    assert (shown["company"], shown["company_name"]) == ("Mandant", "Firma")
    fields = re.findall(r'name="map_(\w+)"(.*?)</label>', html, re.S)
    hints = {f: re.findall(r'<small class="hint">([^<]*)</small>', body) for f, body in fields}
    hints = {f: found[0] for f, found in hints.items() if found}
    assert set(hints) == {"company", "company_name"}
    assert "Kunden" in hints["company_name"] and "Verkäufer" in hints["company"]
    page = confirm(client, mapping_url).get_data(as_text=True)
    assert "job-done" in page
    names = {c.company_name for c in db.session.scalars(select(Customer))}
    assert "Bäckerei Größ" in names and "Gartenwelt GmbH" not in names


def test_bad_file_is_refused_whole_and_the_fixed_file_imports(client, db, connector, tmp_path):
    mapping_url = upload(client, connector, csv_bytes(tmp_path)).headers["Location"]
    confirm(client, mapping_url, {"product_group": "Sortiment"})
    cursor = db.session.get(SyncCursor, (connector.id, "orders")).value
    path_before = db.session.get(ConnectorConfig, connector.id).settings["path"]

    bad_lines = [*GOOD_LINES, *(BAD_ROW.format(n=n) for n in range(120))]
    bad_lines[1] = bad_lines[1].replace("03.02.2025", "04.02.2025")  # one order, two dates
    response = upload(client, connector, csv_bytes(tmp_path, bad_lines), name="fehler.csv")
    mapping_url = response.headers["Location"]
    html = client.get(mapping_url).get_data(as_text=True)
    assert selected(html)["product_group"] == "Sortiment"  # the saved mapping is filled in
    assert "gespeichert" in html
    page = confirm(client, mapping_url).get_data(as_text=True)
    assert "abgelehnt" in page and "241" in page  # 120 × (date, amount) + 1
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td><td>([^<]+)</td></tr>', page)
    assert len(rows) == 100  # the first 100 of them
    assert ("3", "Belegdatum") in {(r, c) for r, c, _ in rows}
    assert any(c == "Netto" and "viel" in reason for _, c, reason in rows)
    # the reasons in the reader's language, the file's own values quoted
    reasons = {reason for _, _, reason in rows}
    assert "kein Betrag: „viel“" in reasons
    assert any(r.startswith("Auftrag A-5001 hat zwei verschiedene Daten: ") for r in reasons)
    assert not any(r.startswith(("not ", "order ")) for r in reasons)
    assert "Zuordnung ändern" in page
    db.session.expire_all()
    assert count(db, Customer) == 3 and count(db, Order) == 3 and count(db, OrderLine) == 4
    assert db.session.get(SyncCursor, (connector.id, "orders")).value == cursor
    assert db.session.get(ConnectorConfig, connector.id).settings["path"] == path_before
    failed = db.session.scalars(select(SyncRun).where(SyncRun.state == "failed")).one()
    assert "241 errors" in failed.error
    assert failed.error.startswith("fehler.csv: ")  # the file as the user named it

    fixed = [*GOOD_LINES, "K-1004;Max;Muster;;Bonn;Endkunde;A-5004;28.02.2025;Pflanzenhof;"
             "offen;ART-1;X;Saatgut;1;9,99;11,89"]  # fmt: skip
    mapping_url = upload(client, connector, csv_bytes(tmp_path, fixed)).headers["Location"]
    page = confirm(client, mapping_url).get_data(as_text=True)
    assert "job-done" in page
    assert count(db, Customer) == 4 and count(db, Order) == 4 and count(db, OrderLine) == 5


def test_same_file_twice_duplicates_nothing(client, db, connector, tmp_path):
    content = csv_bytes(tmp_path)
    for _ in range(2):
        mapping_url = upload(client, connector, content).headers["Location"]
        assert "job-done" in confirm(client, mapping_url).get_data(as_text=True)
    assert count(db, Customer) == 3 and count(db, Order) == 3 and count(db, OrderLine) == 4
    assert (
        db.session.scalar(
            select(func.count(func.distinct(Order.external_id))).where(
                Order.source == "wawi-export"
            )
        )
        == 3
    )
    assert [r.state for r in db.session.scalars(select(SyncRun))] == ["done", "done"]


def test_excel_file_imports(client, db, connector, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(";"))
    for line in GOOD_LINES:
        sheet.append(line.split(";"))
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload(client, connector, buffer.getvalue(), name="export.xlsx")
    mapping_url = response.headers["Location"]
    assert "Excel-Datei" in client.get(mapping_url).get_data(as_text=True)
    assert "job-done" in confirm(client, mapping_url).get_data(as_text=True)
    assert count(db, Order) == 3


def test_mapping_errors_are_named_and_nothing_is_imported(client, db, connector, tmp_path):
    mapping_url = upload(client, connector, csv_bytes(tmp_path)).headers["Location"]
    response = choose(client, mapping_url, {"net_amount": "", "gross_amount": "Menge"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Pflichtfeld" in html and "bereits" in html
    assert count(db, Order) == 0 and count(db, JobRun) == 0 and count(db, SavedMapping) == 0


def test_wrong_files_and_tokens_are_refused(client, db, connector, tmp_path, app):
    response = upload(client, connector, b"hello", name="notes.txt")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nur .csv- und .xlsx-Dateien" in page
    response = upload(client, connector, b"", name="leer.csv")
    assert "Datei ist leer" in client.get(response.headers["Location"]).get_data(as_text=True)
    old = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 2000
    try:
        response = upload(client, connector, b"x" * 5000)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = old
    assert response.status_code == 302
    assert "größer" in client.get(response.headers["Location"]).get_data(as_text=True)
    for token in ("0" * 32, "..%2F..%2Fetc%2Fpasswd", "abc"):
        response = client.get(f"/admin/connectors/{connector.id}/upload/{token}")
        assert response.status_code in (302, 404)
    assert list(Path(app.config["UPLOAD_FOLDER"]).glob("*.txt")) == []


def test_a_utf8_file_with_cp1252_rows_is_refused_unless_confirmed(client, db, connector, tmp_path):
    lines = [*GOOD_LINES[:2], GOOD_LINES[3]]
    content = ("\r\n".join([HEADER, *lines[:2]]) + "\r\n").encode("utf-8")
    content += (lines[2] + "\r\n").encode("cp1252")  # row 4: Özlem Weiß, Gießkanne
    mapping_url = upload(client, connector, content).headers["Location"]
    html = client.get(mapping_url).get_data(as_text=True)
    assert "die nicht UTF-8 sind (1): 4" in html and 'name="cp1252_rows"' in html

    page = confirm(client, mapping_url).get_data(as_text=True)
    assert "abgelehnt" in page and "nicht UTF-8 wie der Rest der Datei: „Özlem“" in page
    assert count(db, Customer) == 0

    mapping_url = upload(client, connector, content).headers["Location"]
    html = client.get(mapping_url).get_data(as_text=True)
    form = {f"map_{k}": v for k, v in selected(html).items()}
    form.update({"cp1252_rows": "1", "csrf_token": csrf_from(html)})
    client.post(mapping_url, data=form)
    assert JobRunner("test-worker", echo=lambda _line: None).run(once=True) == 1
    names = {(c.first_name, c.last_name) for c in db.session.scalars(select(Customer))}
    assert names == {("Jürgen", "Müller"), ("Özlem", "Weiß")}


def test_a_file_with_headers_only_ends_as_an_error(client, db, connector, tmp_path):
    mapping_url = upload(client, connector, csv_bytes(tmp_path, [])).headers["Location"]
    page = confirm(client, mapping_url).get_data(as_text=True)
    assert "job-failed" in page and "keine Auftragspositionen unter der Kopfzeile" in page


def test_uploads_never_imported_are_deleted_after_a_day(client, db, connector, tmp_path, app):
    from recovery.jobs import registry
    from recovery.sources.jobs import delete_unused_uploads

    assert "unused uploads" in {task.name for task in registry.recurring_tasks()}
    imported = upload(client, connector, csv_bytes(tmp_path)).headers["Location"]
    confirm(client, imported)
    never = upload(client, connector, csv_bytes(tmp_path), name="vergessen.csv")
    young = upload(client, connector, csv_bytes(tmp_path), name="neu.csv")
    folder = Path(app.config["UPLOAD_FOLDER"])
    token_of = {name: url.rstrip("/").rsplit("/", 1)[1] for name, url in (
        ("imported", imported), ("never", never.headers["Location"]),
        ("young", young.headers["Location"]))}  # fmt: skip
    day_ago = time.time() - 86_400 - 60
    for name in ("imported", "never"):
        for path in folder.glob(f"{token_of[name]}.*"):
            os.utime(path, (day_ago, day_ago))

    assert delete_unused_uploads() == [token_of["never"]]

    left = {path.name.partition(".")[0] for path in folder.iterdir()}
    assert left == {token_of["imported"], token_of["young"]}
    assert len(list(folder.iterdir())) == 4  # each file with its note

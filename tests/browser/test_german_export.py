"""Issue "real merchants' data", done when: a German WaWi export – cp1252, ``;``,
``1.234,56``, dd.mm.yyyy, umlauts, a status per position with cancelled lines, customers in
Austria and Switzerland, "Firma" for the customers' companies beside "Mandant" for the
seller – is imported in the browser without touching the proposal, and every date on the
list, the case page and the CSV export is the date written in the file.

The orders of the two declining customers end at 23:30 (winter time) and at 00:30 (summer
time) local time: the hours where a date counted in UTC falls on the neighbouring day."""

from __future__ import annotations

import csv
import io
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from recovery.models import Customer, JobRun, Order
from recovery.models.types import business_tz
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser

HEADER = (
    "Kundennummer;Anrede;Vorname;Nachname;Firma;E-Mail;Mobil;PLZ;Ort;Land;Auftragsnummer;"
    "Belegdatum;Mandant;Positionsstatus;Artikelnummer;Artikelname;Warengruppe;Menge;Netto;"
    "Brutto;Währung"
)
PEOPLE = {
    "20001": "Herr;Jürgen;Köhler;Köhler Gartenbau GmbH;j.koehler@example.at;0664 1234567;"
    "8010;Graz;Österreich",
    "20002": "Frau;Ursula;Zürcher;Blumen Zürcher AG;u.zuercher@example.ch;079 123 45 67;"
    "8001;Zürich;Schweiz",
    "20003": "Frau;Marta;Schäfer;;m.schaefer@example.de;0171 5550123;50667;Köln;Deutschland",
    "20004": "Herr;Björn;Weiß;Weiß Landschaftsbau;b.weiss@example.de;;20095;Hamburg;DE",
    "20005": "Frau;Gül;Öztürk;Grünfläche Öztürk KG;g.oeztuerk@example.de;;80331;München;D",
    "20006": "Herr;Lukas;Brünner;Brünner & Söhne OHG;l.bruenner@example.at;;1010;Wien;AT",
    "20007": "Frau;Anja;Fuß;Gärtnerei Fuß;a.fuss@example.de;;01067;Dresden;Deutschland",
}


def _money(value: Decimal) -> str:
    """1234.5 -> '1.234,50', as German exports write amounts."""
    return f"{value:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")


def _export(today: date) -> tuple[bytes, dict[str, str], str]:
    """The file, the last order date per customer as written in it, and the order
    with a cancelled position."""
    lines, last = [], {}
    number = 7000

    def order(customer: str, day: date, clock: str, net: Decimal, cancelled: bool = False):
        nonlocal number
        number += 1
        stamp = f"{day:%d.%m.%Y} {clock}"
        positions = [
            ("GS-1", "Rasensamen Schattenmischung", "Saatgut", net * Decimal("0.75")),
            ("DU-7", "Hornspäne 5 kg", "Dünger", net * Decimal("0.25")),
        ]
        if cancelled:
            positions.append(("WZ-3", "Gießkanne Zink 10 l", "Zubehör", Decimal("5000")))
        for index, (sku, name, group, amount) in enumerate(positions):
            state = "storniert" if index == 2 else "abgeschlossen"
            gross = (amount * Decimal("1.19")).quantize(Decimal("0.01"))
            lines.append(
                f"{customer};{PEOPLE[customer]};A-{number};{stamp};Gartenwelt GmbH;{state};"
                f"{sku};{name};{group};1;{_money(amount)};{_money(gross)};EUR"
            )
        last[customer] = f"{day:%d.%m.%Y}"
        return f"A-{number}"

    # Köhler: every 60 days, 1.000,00 a year ago and before, 300,00 since; last order
    # 20 days ago at 23:30 (winter time); one recent order with a cancelled position.
    cancelled_order = ""
    for step in range(12, 0, -1):
        day = today - timedelta(days=20 + 60 * (step - 1))
        recent = day > today - timedelta(days=365)
        net = Decimal("300.00") if recent else Decimal("1000.00")
        made = order("20001", day, "23:30", net, cancelled=recent and step == 3)
        cancelled_order = made if recent and step == 3 else cancelled_order
    # Zürcher: every 60 days until the summer, last order at 00:30 on a summer day.
    summer = date(today.year if today.month > 8 else today.year - 1, 7, 20)
    for step in range(10, 0, -1):
        day = summer - timedelta(days=60 * (step - 1))
        net = Decimal("250.00") if day > today - timedelta(days=365) else Decimal("900.00")
        order("20002", day, "00:30", net)
    # the others: steady, every 60 days, midday.
    for offset, customer in enumerate(("20003", "20004", "20005", "20006", "20007")):
        for step in range(12, 0, -1):
            day = today - timedelta(days=5 + offset + 60 * (step - 1))
            order(customer, day, "12:00", Decimal("500.00"))
    text = "\r\n".join([HEADER, *lines]) + "\r\n"
    return text.encode("cp1252"), last, cancelled_order


def _wait_for_job(db, kind: str, seconds: float = 60) -> JobRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.expire_all()
        job = db.session.scalars(
            select(JobRun).where(JobRun.kind == kind).order_by(JobRun.id.desc())
        ).first()
        if job is not None and job.state in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"no {kind} job ended within {seconds} s")


def test_a_german_export_imports_untouched_and_every_date_is_the_files(
    page, shot, db, tmp_path, worker
):
    today = datetime.now(business_tz()).date()
    data, last, cancelled_order = _export(today)
    export = tmp_path / "Auftragspositionen Gesamt.csv"
    export.write_bytes(data)

    admin = make_user("admin", name="Anna Admin")
    log_in(page, admin.email, PASSWORD)
    page.wait_for_selector(".topbar")
    page.goto("/admin/connectors")
    page.select_option("select[name=kind]", "csv")
    page.click("text=Datenquelle anlegen")
    page.fill("input[name=name]", "jtl-export")
    page.click("text=Datenquelle speichern")
    page.wait_for_selector(".flash-success")

    page.set_input_files("input[type=file]", str(export))
    page.click("text=Hochladen und prüfen")
    page.wait_for_selector(".mapping-form")
    assert "cp1252" in page.inner_text(".file-facts")
    proposal = {
        "company_name": "Firma",
        "company": "Mandant",
        "state": "Positionsstatus",
        "country": "Land",
        "mobile": "Mobil",
        "ordered_at": "Belegdatum",
        "net_amount": "Netto",
        "product_group": "Warengruppe",
    }
    for target, header in proposal.items():
        assert page.locator(f"select[name=map_{target}]").input_value() == header, target
    shot("german-export-01-mapping")
    page.click("text=Datei importieren")  # the proposal as it is
    try:
        page.wait_for_selector(".job-box.job-done", timeout=60_000)
    except Exception:
        shot("german-export-debug")
        raise
    assert "Kunden 7" in page.inner_text("table.sync-log")

    countries = dict(db.session.execute(select(Customer.external_id, Customer.country)).all())
    assert countries == {
        "20001": "AT",
        "20002": "CH",
        "20003": "DE",
        "20004": "DE",
        "20005": "DE",
        "20006": "AT",
        "20007": "DE",
    }
    koehler = db.session.scalars(select(Customer).where(Customer.last_name == "Köhler")).one()
    assert koehler.company_name == "Köhler Gartenbau GmbH"
    with_cancelled = db.session.scalars(
        select(Order).where(Order.external_id.contains(cancelled_order))
    ).one()
    assert with_cancelled.net_total == Decimal("300.00")  # the cancelled 5.000,00 adds nothing

    page.goto("/admin/analysis")
    # The POST answers with a redirect: wait for it, or a quick analysis can finish while
    # the redirect is still pending and it overtakes the next page.goto.
    with page.expect_navigation():
        page.click("text=Analyse jetzt starten")
    assert _wait_for_job(db, "analyze").state == "done"

    page.goto("/list/decline?sort=name")
    rows = [row.inner_text() for row in page.locator("table.grid tbody tr").all()]
    assert len(rows) == 2  # the steady customers are not in the list
    for customer, name in (("20001", "Köhler"), ("20002", "Zürcher")):
        row = next(text for text in rows if name in text)
        assert last[customer] in row, (name, last[customer], row)
    shot("german-export-02-list")

    page.click("table.grid a:has-text('20001')")
    page.wait_for_selector("tbody.order")
    summary = page.inner_text(".card >> nth=0")
    assert f"Letzte Bestellung\n{last['20001']}" in summary, summary
    orders = page.locator("tbody.order tr").first.inner_text()
    assert last["20001"] in orders
    contact = page.inner_text("main")
    assert "Köhler Gartenbau GmbH" in contact and "Graz, Österreich" in contact
    shot("german-export-03-case")

    response = page.request.get("/list/decline/export.csv")
    assert response.status == 200
    text = response.body().decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert len(table) == 3  # the header and the two declining customers
    for customer, name in (("20001", "Köhler"), ("20002", "Zürcher")):
        row = next(r for r in table[1:] if any(name in cell for cell in r))
        assert last[customer] in row, (name, last[customer], row)

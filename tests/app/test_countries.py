"""Countries as ISO 3166-1 alpha-2 codes (issue 12, item 3).

A German export writes "Österreich" and "Schweiz"; the customer must be stored as AT and
CH (not "ÖS" and "SC"), <<var:land>> names the country in the customer's language, and
the SMS number is read with the customer's country.
"""

from __future__ import annotations

from sqlalchemy import select

from recovery.messaging.channels.sms import SmsChannel
from recovery.messaging.outbox import customer_context, variables_for
from recovery.models import ConnectorConfig, Customer
from recovery.sources.store import Store
from recovery.sources.sync import run_sync
from tests.app.test_sync import HEADER, MAPPING, csv_connector
from tests.connectors.test_csv_validation import read_until_refused
from wawi_connectors import Batch, CustomerRecord, RowError


def _line(number: str, order: str, country: str) -> str:
    return (
        f"{number};Eva;Berg;;Wien;Endkunde;{order};03.02.2025;Gartenwelt GmbH;"
        f"abgeschlossen;ART-1;Tomatensamen;Saatgut;1;10,00;11,90;{country}"
    )


COUNTRIES = {
    "K-1": "Österreich",
    "K-2": "Schweiz",
    "K-3": "Deutschland",
    "K-4": "Oesterreich",
    "K-5": "Switzerland",
    "K-6": "D",
    "K-7": "at",
    "K-8": "",
}
STORED = {"K-1": "AT", "K-2": "CH", "K-3": "DE", "K-4": "AT", "K-5": "CH", "K-6": "DE"}
STORED.update({"K-7": "AT", "K-8": None})


def _write(tmp_path, countries: dict[str, str]):
    path = tmp_path / "export.csv"
    lines = [_line(n, f"A-{i}", c) for i, (n, c) in enumerate(countries.items())]
    path.write_bytes(("\r\n".join([HEADER + ";Land", *lines]) + "\r\n").encode("cp1252"))
    return path


def test_csv_countries_are_stored_as_iso_codes(db, tmp_path):
    cfg = csv_connector(db, _write(tmp_path, COUNTRIES))
    cfg.settings = {**cfg.settings, "mapping": {**MAPPING, "country": "Land"}}
    db.session.commit()
    run_sync(cfg)
    stored = dict(db.session.execute(select(Customer.external_id, Customer.country)).all())
    assert stored == STORED


def test_csv_refuses_a_country_it_cannot_read_with_row_column_and_reason(tmp_path):
    path = _write(tmp_path, {"K-1": "Österreich", "K-2": "Atlantis"})
    error, yielded = read_until_refused(path, mapping={**MAPPING, "country": "Land"})
    assert yielded == []
    assert error.errors == [RowError(3, "Land", "not a country: 'Atlantis'")]


def _countries(db) -> dict[str, tuple[str | None, str | None]]:
    rows = db.session.execute(
        select(Customer.external_id, Customer.country, Customer.country_raw)
    ).all()
    return {external_id: (country, raw) for external_id, country, raw in rows}


def test_api_records_are_stored_as_iso_codes_and_unknown_ones_flagged(db):
    # An API connector's unrecognised country is neither refused nor dropped: the
    # customer is stored without a country, and the source's value is kept beside it.
    records = [
        CustomerRecord(external_id="1", country="Österreich"),
        CustomerRecord(external_id="2", country="ch"),
        CustomerRecord(external_id="3", country=" Narnia "),
        CustomerRecord(external_id="4", country=""),
        CustomerRecord(external_id="5", country="X" * 300),
    ]
    Store("shop").batch(Batch("customers", records, None))
    db.session.commit()
    assert _countries(db) == {
        "1": ("AT", None),
        "2": ("CH", None),
        "3": (None, "Narnia"),
        "4": (None, None),
        "5": (None, "X" * 100),  # as long as the column holds
    }
    # Corrected in the source, the flag goes with the next sync.
    Store("shop").batch(Batch("customers", [CustomerRecord("3", country="Norway")], None))
    db.session.commit()
    assert _countries(db)["3"] == ("NO", None)


def _admin_page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_unrecognised_countries_are_shown_on_the_connector_and_the_customer(
    client, login_as, build, db
):
    cfg = ConnectorConfig(name="shop", kind="shopware6", settings={"base_url": "https://x.de"})
    db.session.add(cfg)
    db.session.commit()
    for raw in ("Deutschalnd", "Deutschalnd", "Narnia <b>"):
        build.customer(source="shop", country=None, country_raw=raw)
    build.customer(source="other", country=None, country_raw="Atlantis")
    login_as("admin")  # German
    html = _admin_page(client, f"/admin/connectors/{cfg.id}")
    assert "3 Kunden mit einem Land, das nicht erkannt wurde" in html
    assert "„Deutschalnd“ (2)" in html and "„Narnia &lt;b&gt;“ (1)" in html
    assert "Atlantis" not in html  # another source's customers

    customer = build.customer(source="shop", country=None, country_raw="Deutschalnd")
    page = _admin_page(client, f"/case/{build.case(customer).id}?list=decline")
    assert "Deutschalnd (Land nicht erkannt)" in page


def test_land_in_the_customers_language_and_sms_with_the_customers_country(app, build, db):
    german = build.customer(country="AT", locale="de", mobile="0664 1234567")
    english = build.customer(country="CH", locale="en", mobile="079 123 45 67")
    with app.test_request_context():
        assert variables_for(german, customer_context(german), None)["land"] == "Österreich"
        assert variables_for(english, customer_context(english), None)["land"] == "Switzerland"
    assert SmsChannel().address(german) == "+436641234567"
    assert SmsChannel().address(english) == "+41791234567"

"""Countries as ISO 3166-1 alpha-2 codes (issue 12, item 3).

A German export writes "Österreich" and "Schweiz"; the customer must be stored as AT and
CH (not "ÖS" and "SC"), <<var:land>> names the country in the customer's language, and
the SMS number is read with the customer's country.
"""

from __future__ import annotations

from sqlalchemy import select

from recovery.messaging.channels.sms import SmsChannel
from recovery.messaging.outbox import customer_context, variables_for
from recovery.models import Customer
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


def test_api_records_are_stored_as_iso_codes_and_unknown_as_none(db):
    records = [
        CustomerRecord(external_id="1", country="Österreich"),
        CustomerRecord(external_id="2", country="ch"),
        CustomerRecord(external_id="3", country="Narnia"),
    ]
    Store("shop").batch(Batch("customers", records, None))
    db.session.commit()
    stored = dict(db.session.execute(select(Customer.external_id, Customer.country)).all())
    assert stored == {"1": "AT", "2": "CH", "3": None}


def test_land_in_the_customers_language_and_sms_with_the_customers_country(app, build, db):
    german = build.customer(country="AT", locale="de", mobile="0664 1234567")
    english = build.customer(country="CH", locale="en", mobile="079 123 45 67")
    with app.test_request_context():
        assert variables_for(german, customer_context(german), None)["land"] == "Österreich"
        assert variables_for(english, customer_context(english), None)["land"] == "Switzerland"
    assert SmsChannel().address(german) == "+436641234567"
    assert SmsChannel().address(english) == "+41791234567"

"""Connectors fill the customer's salutation where the source has one (issue 15): a
German export's "Anrede" (Herr/Frau/Firma/Divers), JTL's cAnrede, Shopware's
salutationKey – so serial messages greet imported customers by it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from recovery.campaigns import serial
from recovery.extensions import db
from recovery.messaging.salutation import Addressee, salutation
from recovery.models import ConnectorConfig, ContactGroup, Customer, GroupMember
from recovery.sources.sync import run_sync
from tests.app.test_sync import MAPPING
from tests.campaigns.helpers import shop
from tests.conftest import make_user
from wawi_connectors.salutations import salutation_code
from wawi_connectors.tabular.mapping import propose_mapping

HEADER = "Kundennummer;Anrede;Vorname;Nachname;E-Mail;Belegnummer;Belegdatum;Firma;Netto"
ROWS = (
    "K-1;Frau;Anna;Schäfer;anna@example.de;A-1;03.02.2025;Gartenwelt GmbH;10,00",
    "K-2;Herr;Jan;Krause;jan@example.de;A-2;03.02.2025;Gartenwelt GmbH;10,00",
    "K-3;Firma;Paul;Nord;einkauf@nord.example;A-3;03.02.2025;Gartenwelt GmbH;10,00",
    "K-4;Divers;Kim;Berg;kim@example.de;A-4;03.02.2025;Gartenwelt GmbH;10,00",
    "K-5;;Eva;Ohne;eva@example.de;A-5;03.02.2025;Gartenwelt GmbH;10,00",
)


def _export(path, rows=ROWS):
    path.write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252"))
    return path


def _connector(path) -> ConnectorConfig:
    mapping = {k: v for k, v in MAPPING.items() if v in HEADER.split(";")}
    cfg = ConnectorConfig(
        name="wawi",
        kind="csv",
        settings={"path": str(path), "mapping": {**mapping, "salutation": "Anrede"}},
    )
    db.session.add(cfg)
    db.session.commit()
    return cfg


def _salutations() -> dict[str, str | None]:
    db.session.expire_all()
    return dict(db.session.execute(select(Customer.number, Customer.salutation)).tuples().all())


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("Herr", "mr"),
        ("Frau", "ms"),
        ("Firma", "company"),
        ("Divers", "diverse"),
        ("Herr Dr.", "mr"),
        ("FRAU", "ms"),
        ("mrs", "ms"),
        ("mr", "mr"),
        ("not_specified", None),
        ("Dr.", None),
        ("", None),
        (None, None),
    ],
)
def test_a_sources_word_becomes_our_code(word, code):
    assert salutation_code(word) == code


def test_the_mapping_proposal_finds_the_anrede_column():
    assert propose_mapping(HEADER.split(";"))["salutation"] == "Anrede"


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        (Addressee("Paul", "Nord", "Nord GmbH", "company"), "Sehr geehrte Damen und Herren"),
        (Addressee("Kim", "Berg", None, "diverse"), "Guten Tag Kim Berg"),
        (Addressee("Kim", "Berg", None, "diverse", "en"), "Dear Kim Berg"),
    ],
)
def test_the_formal_salutation_of_a_company_and_of_diverse(person, expected):
    assert salutation(person, "formal") == expected


def test_an_import_stores_the_salutation_and_keeps_a_known_one(db, tmp_path):
    export = _export(tmp_path / "export.csv")
    cfg = _connector(export)
    run_sync(cfg)
    assert _salutations() == {
        "K-1": "ms",
        "K-2": "mr",
        "K-3": "company",
        "K-4": "diverse",
        "K-5": None,
    }
    # a sign-up told us Eva's salutation; an export without one keeps it, one with one wins
    db.session.execute(
        Customer.__table__.update().where(Customer.number == "K-5").values(salutation="ms")
    )
    db.session.commit()
    _export(export, [r.replace(";Frau;", ";Herr;") if r.startswith("K-1;") else r for r in ROWS])
    run_sync(cfg, full=True)
    assert _salutations() == {
        "K-1": "mr",
        "K-2": "mr",
        "K-3": "company",
        "K-4": "diverse",
        "K-5": "ms",
    }


def test_a_serial_message_greets_imported_customers_by_their_salutation(app, db, build, tmp_path):
    company = shop(build)  # the export's "Gartenwelt GmbH", with its sender address
    run_sync(_connector(_export(tmp_path / "export.csv")))
    admin = make_user("admin", email="ada@gartenwelt.example")
    group = ContactGroup(name="Alle", active=True)
    db.session.add(group)
    db.session.flush()
    for customer_id in db.session.scalars(select(Customer.id)):
        db.session.add(GroupMember(group_id=group.id, customer_id=customer_id, source="hand"))
    db.session.commit()
    item = serial.save_draft(
        serial.Draft(
            name="Frühjahr",
            target=f"group:{group.id}",
            company_id=company.id,
            salutation="formal",
            subject="Neu",
            body="wir haben neues Saatgut.",
        ),
        admin,
    )
    db.session.commit()
    with app.test_request_context():
        greetings = {p.customer.number: p.text.split(",")[0] for p in serial.preview(item, admin)}
    assert greetings == {
        "K-1": "Sehr geehrte Frau Schäfer",
        "K-2": "Sehr geehrter Herr Krause",
        "K-3": "Sehr geehrte Damen und Herren",
    }

"""Connector errors in the reader's language: the texts a connector raises (settings,
HTTP, SQL, rows) reach German pages in German – flashed at once, or kept with a failed
job and in the sync log and said when a page shows them – and English readers keep the
connector's own words. Secrets stay masked in both."""

from __future__ import annotations

import html
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from recovery.models import ConnectorConfig, SyncRun
from recovery.sources.secrets import encrypt
from tests.app.test_connectors_admin import create, page_of, post
from tests.fakes.woocommerce import CONSUMER_KEY, CONSUMER_SECRET, FakeWooCommerce

T0 = datetime(2024, 5, 1, 10, tzinfo=UTC)
ORDERS = "/wp-json/wc/v3/orders"


@pytest.fixture
def woo():
    woo = FakeWooCommerce()
    drill = woo.add_product("Akku-Bohrer", "B-1", ["Werkzeug"])
    anna = woo.add_customer("anna@example.com", "Anna", "Alt", created=T0)
    woo.add_order(anna, created=T0 + timedelta(days=1), lines=[(drill, 1, "100")])
    with woo.server() as server:
        woo.url = server.url
        yield woo


def woo_connector(db, woo) -> ConnectorConfig:
    cfg = ConnectorConfig(
        name="woo",
        kind="woocommerce",
        settings={
            "base_url": woo.url,
            "consumer_key": CONSUMER_KEY,
            "max_retries": 1,
            "connect_timeout": 1,
            "read_timeout": 1,
        },
        secrets=encrypt({"consumer_secret": CONSUMER_SECRET}),
    )
    db.session.add(cfg)
    db.session.commit()
    return cfg


def text_of(page: str) -> str:
    return html.unescape(page)


def test_a_failed_sync_is_told_in_german_and_kept_for_english_readers(
    app, client, login_as, db, woo, run_jobs
):
    cfg = woo_connector(db, woo)
    woo.faults.add("status", status=503, times=10, path=ORDERS)
    admin = login_as("admin")
    detail = f"/admin/connectors/{cfg.id}"
    post(client, f"{detail}/sync", page_url=detail)
    run_jobs()
    german = (
        "WooCommerce: antwortete mit HTTP 503 bei GET /wp-json/wc/v3/orders; "
        "nach 2 Versuchen aufgegeben"
    )
    english = "WooCommerce answered HTTP 503 on GET /wp-json/wc/v3/orders; gave up after 2 attempts"
    page = page_of(client, detail)
    assert page.count(german) == 2  # the job's panel and the sync log
    assert english not in page
    assert german in page_of(client, "/admin/connectors")
    assert german in page_of(client, "/admin/jobs")
    run = db.session.scalar(select(SyncRun))
    assert run.error == english  # the log keeps the English for the operators

    admin.locale = "en"
    db.session.commit()
    page = page_of(client, detail)
    assert english in page and german not in page


def test_connection_test_failures_are_german(client, login_as, db, woo):
    cfg = woo_connector(db, woo)
    login_as("admin")
    detail = f"/admin/connectors/{cfg.id}"
    woo.secret = "cs_other"
    html = text_of(post(client, f"{detail}/test", page_url=detail).get_data(as_text=True))
    assert (
        "Anmeldung fehlgeschlagen: WooCommerce antwortete mit HTTP 401 auf "
        "GET /wp-json/wc/v3/orders: Consumer secret is invalid." in html
    )
    assert CONSUMER_SECRET not in html

    woo.secret = CONSUMER_SECRET
    woo.faults.add("status", status=404, path=ORDERS)
    html = text_of(post(client, f"{detail}/test", page_url=detail).get_data(as_text=True))
    assert "WooCommerce antwortete mit HTTP 404 auf GET /wp-json/wc/v3/orders" in html


def test_settings_the_connector_refuses_are_named_in_german(client, login_as, db):
    login_as("admin")
    form = {
        "name": "sql",
        "lookback_days": "0",
        "url": "sqlite://",
        "customers_query": "DELETE FROM kunden",
        "orders_query": "SELECT * FROM auftraege",
        "timezone": "Mars/Olympus",
    }
    html = text_of(create(client, "generic_sql", form).get_data(as_text=True))
    assert "Abfrage der Kunden muss mit SELECT oder WITH beginnen." in html
    assert "must start with SELECT" not in html

    form["customers_query"] = "SELECT * FROM kunden"
    html = text_of(create(client, "generic_sql", form).get_data(as_text=True))
    assert "Unbekannte Zeitzone: Mars/Olympus" in html


def test_refused_rows_of_a_database_are_german(client, login_as, db, tmp_path, run_jobs):
    path = tmp_path / "shop.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE kunden (external_id TEXT, updated_at TEXT);
            CREATE TABLE auftraege (external_id TEXT, customer_external_id TEXT,
                ordered_at TEXT, net_total TEXT, updated_at TEXT);
            INSERT INTO kunden VALUES ('K1', '2024-05-01 10:00:00');
            INSERT INTO auftraege VALUES ('A1', 'K1', '2024-05-02 10:00:00', 'zwölf',
                '2024-05-02 10:00:00');
            """
        )
    cfg = ConnectorConfig(
        name="sql",
        kind="generic_sql",
        settings={
            "customers_query": "SELECT * FROM kunden",
            "orders_query": "SELECT * FROM auftraege",
        },
        secrets=encrypt({"url": f"sqlite:///{path}"}),
    )
    db.session.add(cfg)
    db.session.commit()
    login_as("admin")
    detail = f"/admin/connectors/{cfg.id}"
    post(client, f"{detail}/sync", page_url=detail)
    run_jobs()
    page = text_of(page_of(client, detail))
    assert "Abfrage der Bestellungen: 1 unbrauchbare(r) Wert(e)." in page
    assert "Zeile 1, Spalte net_total: ist keine Zahl: 'zwölf'" in page  # the sync log
    assert "is not a number" not in page


def test_a_sync_of_a_deleted_connector_fails_in_german(client, db, login_as, run_jobs):
    from recovery.jobs import enqueue

    enqueue("sync", {"connector_id": 987654, "full": False})
    db.session.commit()
    run_jobs()
    login_as("admin")
    page = page_of(client, "/admin/jobs")
    assert "Die Datenquelle gibt es nicht mehr." in page
    assert "no longer exists" not in page

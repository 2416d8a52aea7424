"""Admin → Connectors through the app: settings and secrets, connection tests against the
fake shops, sync now (inline and as a real `flask recovery run-job` process), the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, select

from recovery.models import ConnectorConfig, Customer, JobRun, Order, SyncRun, utcnow
from recovery.sources.configs import editable_fields
from recovery.sources.secrets import decrypt
from tests.app.test_sync import csv_connector, german_csv
from tests.conftest import csrf_from
from tests.fakes.shopware import CLIENT_ID, FakeShopware
from tests.fakes.woocommerce import CONSUMER_KEY, CONSUMER_SECRET, FakeWooCommerce
from wawi_connectors import connector_kinds

T0 = datetime(2024, 5, 1, 10, tzinfo=UTC)
SECRET = "Sw-Secret-4711-do-not-show"


@pytest.fixture
def shop():
    shop = FakeShopware(client_secret=SECRET)
    for n in range(3):
        customer = shop.add_customer(
            f"kunde{n}@example.de", "Kunde", f"Nummer{n}", created=T0 + timedelta(hours=n)
        )
        shop.add_order(
            customer,
            created=T0 + timedelta(days=1, hours=n),
            state="completed",
            lines=[{"label": "Akku-Bohrer", "sku": "SW-1", "quantity": 2, "unit_gross": "119"}],
        )
    with shop.server() as server:
        shop.url = server.url
        yield shop


@pytest.fixture
def woo():
    woo = FakeWooCommerce()
    drill = woo.add_product("Akku-Bohrer", "B-1", ["Werkzeug"])
    anna = woo.add_customer("anna@example.com", "Anna", "Alt", created=T0)
    woo.add_order(
        anna, created=T0 + timedelta(days=1), status="completed", lines=[(drill, 1, "100")]
    )
    with woo.server() as server:
        woo.url = server.url
        yield woo


def page_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def shopware_form(shop, **changes) -> dict[str, str]:
    form = {
        "name": "shop",
        "enabled": "on",
        "lookback_days": "30",
        "base_url": shop.url,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "page_size": "2",
        "max_retries": "1",
        "connect_timeout": "2",
        "read_timeout": "2",
        "customer_url": "https://shop.example/admin#/sw/customer/detail/{id}",
        "order_url": "https://shop.example/admin#/sw/order/detail/{id}",
        "product_url": "",
    }
    form.update(changes)
    return form


def create(client, kind: str, form: dict[str, str]):
    page = page_of(client, f"/admin/connectors/new?kind={kind}")
    return client.post(
        f"/admin/connectors/new?kind={kind}", data={**form, "csrf_token": csrf_from(page)}
    )


def post(client, url: str, data: dict | None = None, page_url: str = "/admin/connectors"):
    token = csrf_from(page_of(client, page_url))
    return client.post(url, data={**(data or {}), "csrf_token": token}, follow_redirects=True)


def test_sales_cannot_see_or_use_connectors(client, login_as, db, tmp_path):
    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))
    login_as("sales")
    for url in (
        "/admin/connectors",
        "/admin/connectors/new?kind=csv",
        f"/admin/connectors/{cfg.id}",
        f"/admin/connectors/{cfg.id}/edit",
        f"/admin/connectors/{cfg.id}/status",
    ):
        assert client.get(url).status_code == 403, url
    token = csrf_from(page_of(client, "/"))
    for url in ("test", "sync", "upload"):
        response = client.post(f"/admin/connectors/{cfg.id}/{url}", data={"csrf_token": token})
        assert response.status_code == 403, url
    assert db.session.scalar(select(func.count(JobRun.id))) == 0


def test_create_connector_stores_the_secret_encrypted_and_never_shows_it(
    client, login_as, db, shop
):
    login_as("admin")
    listing = page_of(client, "/admin/connectors")
    assert "Shopware 6 (Admin-API)" in listing and "WooCommerce" in listing
    response = create(client, "shopware6", shopware_form(shop))
    assert response.status_code == 302
    cfg = db.session.scalar(select(ConnectorConfig))
    assert "client_secret" not in cfg.settings and SECRET not in str(cfg.settings)
    assert SECRET not in cfg.secrets and decrypt(cfg.secrets) == {"client_secret": SECRET}
    assert cfg.lookback_days == 30 and cfg.customer_url.endswith("/{id}")
    pages = [
        page_of(client, f"/admin/connectors/{cfg.id}"),
        page_of(client, f"/admin/connectors/{cfg.id}/edit"),
        page_of(client, "/admin/connectors"),
    ]
    for html in pages:
        assert SECRET not in html
    edit = pages[1]
    assert 'name="client_secret" value=""' in edit
    assert "verschlüsselt" in edit or "encrypted" in edit
    assert "https://shop.example/admin#/sw/customer/detail/4711" in pages[0]  # the example
    # saving again with an empty secret keeps the stored one
    form = shopware_form(shop, client_secret="", page_size="3")
    response = client.post(
        f"/admin/connectors/{cfg.id}/edit", data={**form, "csrf_token": csrf_from(edit)}
    )
    assert response.status_code == 302
    db.session.expire_all()
    cfg = db.session.get(ConnectorConfig, cfg.id)
    assert decrypt(cfg.secrets) == {"client_secret": SECRET} and cfg.settings["page_size"] == 3


def test_invalid_settings_name_the_field_save_nothing_and_echo_no_secret(
    client, login_as, db, shop
):
    login_as("admin")
    form = shopware_form(
        shop,
        base_url="",
        page_size="viele",
        order_url="https://shop.example/order/{nummer}",
        lookback_days="999",
    )
    response = create(client, "shopware6", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Shop-URL" in html and "Datensätze je Anfrage" in html
    assert "{number}" in html and "999" in html
    assert SECRET not in html
    assert db.session.scalar(select(func.count(ConnectorConfig.id))) == 0
    # the connector's own check: page size out of range, named in its message
    response = create(client, "shopware6", shopware_form(shop, page_size="9999"))
    html = response.get_data(as_text=True)
    assert (
        response.status_code == 422 and "Datensätze pro Anfrage müssen zwischen 1 und 500" in html
    )
    assert SECRET not in html


def test_connection_test_against_fake_shopware_right_and_wrong_secret(client, login_as, db, shop):
    login_as("admin")
    create(client, "shopware6", shopware_form(shop))
    cfg = db.session.scalar(select(ConnectorConfig))
    detail = f"/admin/connectors/{cfg.id}"
    html = post(client, f"{detail}/test", page_url=detail).get_data(as_text=True)
    assert "Mit Shopware verbunden: 3 Bestellungen." in html and "flash-success" in html
    edit = page_of(client, f"{detail}/edit")
    client.post(
        f"{detail}/edit",
        data={**shopware_form(shop, client_secret="wrong-secret"), "csrf_token": csrf_from(edit)},
    )
    html = post(client, f"{detail}/test", page_url=detail).get_data(as_text=True)
    assert "Anmeldung fehlgeschlagen" in html and "HTTP 401" in html
    assert "wrong-secret" not in html and SECRET not in html
    assert db.session.scalar(select(func.count(SyncRun.id))) == 0  # a test stores nothing


def test_connection_test_against_fake_woocommerce_right_and_wrong_key(client, login_as, db, woo):
    login_as("admin")
    form = {
        "name": "woo",
        "enabled": "on",
        "lookback_days": "30",
        "base_url": woo.url,
        "consumer_key": CONSUMER_KEY,
        "consumer_secret": CONSUMER_SECRET,
        "max_retries": "0",
    }
    assert create(client, "woocommerce", form).status_code == 302
    cfg = db.session.scalar(select(ConnectorConfig))
    detail = f"/admin/connectors/{cfg.id}"
    html = post(client, f"{detail}/test", page_url=detail).get_data(as_text=True)
    assert "Mit WooCommerce verbunden: 1 Bestellungen." in html
    edit = page_of(client, f"{detail}/edit")
    form.update(consumer_key="ck_wrong", csrf_token=csrf_from(edit))
    client.post(f"{detail}/edit", data=form)
    html = post(client, f"{detail}/test", page_url=detail).get_data(as_text=True)
    assert "Anmeldung fehlgeschlagen" in html and CONSUMER_SECRET not in html


def test_sync_now_stores_customers_and_orders_and_shows_the_log(
    client, login_as, db, shop, run_jobs
):
    login_as("admin")
    create(client, "shopware6", shopware_form(shop))
    cfg = db.session.scalar(select(ConnectorConfig))
    detail = f"/admin/connectors/{cfg.id}"
    html = post(client, f"{detail}/sync", {"full": "0"}, page_url=detail).get_data(as_text=True)
    assert "Abgleich gestartet" in html and 'data-active="1"' in html  # the page polls
    assert client.get(f"{detail}/status").get_json()["job"]["state"] == "queued"
    assert db.session.scalar(select(func.count(Customer.id))) == 0  # nothing in the request
    assert run_jobs() == 1
    html = page_of(client, detail)
    assert "job-done" in html and 'data-active=""' in html
    assert db.session.scalar(select(func.count(Customer.id))) == 3
    assert db.session.scalar(select(func.count(Order.id))) == 3
    run = db.session.scalars(select(SyncRun)).one()
    assert run.state == "done" and run.rows == {"customers": 3, "orders": 3} and run.job_id
    job = db.session.get(JobRun, run.job_id)
    assert job.kind == "sync" and job.state == "done" and job.progress_done == 6
    assert job.params == {"connector_id": cfg.id, "full": False}
    assert "Kunden 3 · Bestellungen 3" in html  # rows per stream in the log
    status = client.get(f"{detail}/status").get_json()
    assert status["job"]["state"] == "done" and status["run"]["rows"] == {
        "customers": 3,
        "orders": 3,
    }
    listing = page_of(client, "/admin/connectors")
    assert "Kunden 3 · Bestellungen 3" in listing and "fertig" in listing
    # a failing sync: the error in the log and in the message
    shop.faults.add("status", status=500, times=2, path="/api/search/customer")
    post(client, f"{detail}/sync", {"full": "1"}, page_url=detail)
    run_jobs()
    html = page_of(client, detail)
    assert "job-failed" in html and "HTTP 500" in html
    assert db.session.scalar(select(func.count(SyncRun.id))) == 2


def test_second_sync_while_one_runs_is_refused(client, login_as, db, tmp_path):
    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))
    cfg.sync_owner, cfg.sync_lease_until = "otherhost/99/-", utcnow() + timedelta(minutes=5)
    db.session.commit()
    login_as("admin")
    detail = f"/admin/connectors/{cfg.id}"
    html = post(client, f"{detail}/sync", page_url=detail).get_data(as_text=True)
    assert "läuft bereits" in html
    assert db.session.scalar(select(func.count(JobRun.id))) == 0
    assert db.session.scalar(select(func.count(Customer.id))) == 0


def test_link_patterns_reach_the_case_page_settings(client, login_as, db, tmp_path):
    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))
    login_as("admin")
    edit = page_of(client, f"/admin/connectors/{cfg.id}/edit")
    assert 'name="path"' not in edit  # the file comes with the upload
    form = {
        "enabled": "on",
        "lookback_days": "30",
        "timezone": "Europe/Berlin",
        "default_currency": "EUR",
        "customer_url": "https://wawi.example/kunden/{number}",
        "order_url": "ftp://wawi.example/{number}",
        "product_url": "https://wawi.example/artikel/{sku}",
        "csrf_token": csrf_from(edit),
    }
    response = client.post(f"/admin/connectors/{cfg.id}/edit", data=form)
    assert response.status_code == 422 and "https://" in response.get_data(as_text=True)
    form["order_url"] = "https://wawi.example/auftraege/{number}"
    assert client.post(f"/admin/connectors/{cfg.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    cfg = db.session.get(ConnectorConfig, cfg.id)
    assert cfg.settings["path"].endswith("export.csv")  # kept
    html = page_of(client, f"/admin/connectors/{cfg.id}")
    assert "https://wawi.example/artikel/ART-100" in html
    assert "https://wawi.example/kunden/10001" in html


def test_sql_connector_json_and_secret_url(client, login_as, db):
    login_as("admin")
    url = "mssql+pyodbc://reader:Geheim-4711@wawi-dsn"
    form = {
        "name": "jtl",
        "enabled": "on",
        "lookback_days": "0",
        "url": url,
        "batch_size": "2000",
        "timezone": "Europe/Berlin",
        "schema_map": '{"dbo": "jtl"',
    }
    response = create(client, "jtl_wawi", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "kein gültiges JSON" in html
    assert "Geheim-4711" not in html
    form["schema_map"] = '{"dbo": "jtl", "Verkauf": "jtl_verkauf"}'
    assert create(client, "jtl_wawi", form).status_code == 302
    cfg = db.session.scalar(select(ConnectorConfig))
    assert cfg.settings["schema_map"] == {"dbo": "jtl", "Verkauf": "jtl_verkauf"}
    assert cfg.settings["batch_size"] == 2000 and cfg.lookback_days == 0
    assert "url" not in cfg.settings and decrypt(cfg.secrets) == {"url": url}
    edit = page_of(client, f"/admin/connectors/{cfg.id}/edit")
    assert "Geheim-4711" not in edit and "&#34;Verkauf&#34;: &#34;jtl_verkauf&#34;" in edit


def test_a_job_whose_connector_cannot_be_built_fails_and_frees_the_connector(
    client, login_as, db, run_jobs
):
    cfg = ConnectorConfig(
        name="shop",
        kind="shopware6",
        settings={"base_url": "https://shop.example", "client_id": "id", "page_size": 9999},
    )
    db.session.add(cfg)
    db.session.commit()
    login_as("admin")
    detail = f"/admin/connectors/{cfg.id}"
    for _ in range(2):  # the second click is not refused as "running"
        post(client, f"{detail}/sync", page_url=detail)
        run_jobs()
        assert "Fehlende Einstellungen: Sicherheitsschlüssel" in page_of(client, detail)
    db.session.expire_all()
    assert db.session.get(ConnectorConfig, cfg.id).sync_owner is None
    assert [j.state for j in db.session.scalars(select(JobRun))] == ["failed", "failed"]


def _german(app, text: str) -> str:
    with app.test_request_context(), force_locale("de"):
        return gettext(text)


def test_german_pages_name_connector_types_and_settings_in_german(app, client, login_as, db):
    login_as("admin")
    listing = page_of(client, "/admin/connectors")
    for kind, cls in connector_kinds().items():
        assert f'<option value="{kind}">{_german(app, cls.label)}</option>' in listing
        form = page_of(client, f"/admin/connectors/new?kind={kind}")
        assert f'<small class="muted">{_german(app, cls.label)}</small>' in form
        for field in editable_fields(kind):
            label, german = field.label, _german(app, field.label)
            assert f'<span class="setting-label">{escape(german)}' in form, label
            if field.help:
                assert f'title="{escape(_german(app, field.help))}"' in form, field.help
                assert f'title="{escape(field.help)}"' not in form, field.help
            if german != label:
                assert f'<span class="setting-label">{escape(label)}' not in form, label
    assert "CSV- oder Excel-Datei" in listing and "CSV / Excel file" not in listing
    assert "Allgemeine SQL-Datenbank" in listing and "Generic SQL database" not in listing
    form = page_of(client, "/admin/connectors/new?kind=generic_sql")
    assert "Datenbank-URL" in form and "Verwenden Sie einen Benutzer, der nur lesen darf." in form
    assert "Database URL" not in form and "Use a user that may only read" not in form


def test_german_connector_pages_show_settings_and_their_errors_in_german(
    client, login_as, db, tmp_path
):
    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))
    login_as("admin")
    detail = page_of(client, f"/admin/connectors/{cfg.id}")
    assert '<small class="muted">CSV- oder Excel-Datei</small>' in detail
    assert "<dt>Zeitzone</dt>" in detail and "<dt>Währung</dt>" in detail
    assert "Time zone" not in detail and "Currency" not in detail
    edit = page_of(client, f"/admin/connectors/{cfg.id}/edit")
    assert "Für Dateien ohne Währungsspalte" in edit and "For files without" not in edit
    response = create(client, "shopware6", {"name": "shop", "lookback_days": "30"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for german in ("Shop-URL", "Zugangsschlüssel-ID"):
        assert f"{german} ist ein Pflichtfeld." in html
    assert "Shop URL" not in html and "Access key ID" not in html


def test_english_readers_keep_the_connectors_own_words(client, login_as, db, tmp_path):
    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))
    login_as("admin", locale="en")
    assert '<option value="csv">CSV / Excel file</option>' in page_of(client, "/admin/connectors")
    detail = page_of(client, f"/admin/connectors/{cfg.id}")
    assert "<dt>Time zone</dt>" in detail and "<dt>Currency</dt>" in detail


def test_any_name_is_taken_and_the_key_is_derived_from_it(client, login_as, db):
    login_as("admin")
    form = {"enabled": "on", "lookback_days": "30", "timezone": "Europe/Berlin",
            "default_currency": "EUR"}  # fmt: skip
    for typed in ("WaWi-Export März", "WaWi Export – März!"):
        response = create(client, "csv", {**form, "name": typed})
        assert response.status_code == 302, response.get_data(as_text=True)
    stored = db.session.scalars(select(ConnectorConfig).order_by(ConnectorConfig.id)).all()
    assert [(c.label, c.name) for c in stored] == [
        ("WaWi-Export März", "wawi-export-maerz"),
        ("WaWi Export – März!", "wawi-export-maerz-2"),
    ]
    listing = page_of(client, "/admin/connectors")
    assert "WaWi-Export März" in listing and "WaWi Export – März!" in listing
    detail = page_of(client, f"/admin/connectors/{stored[0].id}")
    assert "gespeichert als „wawi-export-maerz“" in detail
    again = create(client, "csv", {**form, "name": "wawi-export märz"}).get_data(as_text=True)
    assert "Es gibt bereits eine Datenquelle mit diesem Namen." in again
    empty = create(client, "csv", {**form, "name": "   "}).get_data(as_text=True)
    assert "Bitte geben Sie einen Namen für diese Datenquelle ein." in empty
    assert 'pattern="' not in page_of(client, "/admin/connectors/new?kind=csv")
    assert db.session.scalar(select(func.count(ConnectorConfig.id))) == 2

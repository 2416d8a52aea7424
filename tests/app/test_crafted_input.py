"""No crafted URL or form value gives a 500 (issue 13 item 10).

Every GET route of the app (the URL map) is opened as an admin with crafted values –
a number past 64 bits, a NUL byte, the last day of year 9999, ``1e309``, ``inf``, a
negative number, a 5,000-character text – for every query parameter the route reads
(recorded while it runs) and for a fixed set of common names; path ids are tried past
32 and 64 bits too. Each answer must be below 500. Run on SQLite and on PostgreSQL
(``TEST_DATABASE_URL``), where the database itself refuses what SQLite lets through.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Request
from werkzeug.datastructures import ImmutableMultiDict

from recovery.extensions import db as _db
from recovery.models import (
    CaseEvent,
    Company,
    ConnectorConfig,
    ContactGroup,
    JobRun,
    Message,
    Newsletter,
    SerialMessage,
    utcnow,
)
from tests.conftest import csrf_from, make_user

HUGE = "99999999999999999999999"
CRAFTED = [
    HUGE,
    "-" + HUGE,
    str(2**63),
    str(2**31),
    "\x00",
    "a\x00b",
    "9999-12-31",
    "0001-01-01",
    "1e309",
    "inf",
    "nan",
    "-1",
    "0",
    "x" * 5000,
    "%",
    "' OR 1=1 --",
]
COMMON = [
    "page", "company", "assigned", "product_group", "customer_group", "q", "sort", "list",
    "from", "to", "user", "job", "kind", "state", "channel", "purpose", "customer", "format",
    "done", "next", "id",
]  # fmt: skip


class _Recording(ImmutableMultiDict):
    """Query arguments that note which names the view asked for."""

    asked: set[str] = set()

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        _Recording.asked.add(key)
        return super().get(key, default, type)

    def __getitem__(self, key):
        _Recording.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        _Recording.asked.add(key)
        return super().__contains__(key)

    def getlist(self, key, type=None):  # noqa: A002
        _Recording.asked.add(key)
        return super().getlist(key, type)


class _RecordingRequest(Request):
    parameter_storage_class = _Recording


@pytest.fixture()
def recording(app):
    original = app.request_class
    app.request_class = _RecordingRequest
    yield _Recording.asked
    app.request_class = original


@pytest.fixture()
def data(build, db):
    """One of each thing a route's path can name."""
    company = build.company("Gartenwelt GmbH", standard_template_id=61)
    customer = build.customer()
    build.order(customer, utcnow() - timedelta(days=90), "120.00", "Dünger", company)
    case = build.case(customer, company)
    db.session.add_all(
        [
            CaseEvent(case_id=case.id, kind="note", text="x"),
            ConnectorConfig(name="wawi", kind="csv", settings={}),
            JobRun(kind="analyze", params={}),
            Message(
                customer_id=customer.id,
                company_id=company.id,
                channel="email",
                purpose="queue",
                to_address=customer.email,
                state="outbox",
            ),
        ]
    )
    newsletter = Newsletter(
        group=ContactGroup(name="Newsletter-Abonnenten"), name="Post", public_key="k3y"
    )
    db.session.add(newsletter)
    db.session.commit()
    contact_group = ContactGroup(name="Stammkunden")
    db.session.add(contact_group)
    db.session.flush()
    serial = SerialMessage(
        name="Frühjahr", group_id=contact_group.id, company_id=company.id, subject="S", body="B"
    )
    db.session.add(serial)
    db.session.commit()
    return {
        "newsletter_id": newsletter.id,
        "key": newsletter.public_key,
        "serial_id": serial.id,
        "case_id": case.id,
        "company_id": company.id,
        "cid": _db.session.query(ConnectorConfig).one().id,
        "job_id": _db.session.query(JobRun).one().id,
        "message_id": _db.session.query(Message).one().id,
        "user_id": make_user("sales").id,
        "group_id": build.group("Dünger").id,
        "tile": "decline",
        "tab": "reachable",
        "kind": "standard",
        "token": "x",
    }


def _get_routes(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            yield rule


def _paths(rule, data) -> list[str]:
    """The rule with real values, and with each integer in it past 32 and 64 bits."""
    values = {arg: data[arg] for arg in rule.arguments}
    paths = [rule.build(values, append_unknown=False)[1]]
    for arg, converter in rule._converters.items():
        if type(converter).__name__ in ("IntegerConverter", "BoundedInt"):
            for huge in (2**31, 2**64 + 1, int(HUGE)):
                paths.append(rule.build({**values, arg: huge}, append_unknown=False)[1])
    return paths


def _status(client, path: str, query: dict) -> int | str:
    """The answer's status, read to its end: an export that breaks off mid-download
    counts as a failure too."""
    try:
        response = client.get(path, query_string=query)
        response.get_data()
        response.close()
    except Exception as exc:  # noqa: BLE001 - what broke is the finding
        return f"raised {exc!r}"[:200]
    return response.status_code


# Answers at or above 500 that a route gives by design: /healthz says 503 when the
# worker's heartbeat is missing (none runs here), whatever the query says.
BY_DESIGN = {"/healthz": 503}


def _broken(status: int | str, path: str = "") -> bool:
    if BY_DESIGN.get(path) == status:
        return False
    return isinstance(status, str) or status >= 500


def test_every_get_route_answers_crafted_values_without_a_server_error(
    app, client, login_as, data, recording
):
    login_as("admin")
    failures = []
    for rule in _get_routes(app):
        path, *too_large = _paths(rule, data)
        for other in too_large:
            if _broken(status := _status(client, other, {}), other):
                failures.append((other, "", status))
        recording.clear()
        if _broken(status := _status(client, path, {}), path):
            failures.append((path, "", status))
        read = sorted(recording)  # what the view asked for
        for value in CRAFTED:
            # each name the route reads on its own, then every common name at once
            for query in [{name: value} for name in read] + [dict.fromkeys(COMMON, value)]:
                if _broken(status := _status(client, path, query), path):
                    failures.append((path, f"{sorted(query)}={value[:30]!r}", status))
    assert not failures, "\n".join(map(str, failures))


def test_an_export_with_a_nul_byte_is_refused_before_it_starts(client, login_as, data):
    login_as("admin")
    for name in ("q", "customer_group"):
        response = client.get("/list/decline/export.csv", query_string={name: "a\x00"})
        assert response.status_code == 400
        assert response.get_data(as_text=True)  # the whole answer, not a broken download


def test_the_action_log_to_the_end_of_time(client, login_as, data):
    login_as("admin")
    response = client.get("/admin/actions?to=9999-12-31")
    assert response.status_code == 400
    assert "Das Datum in „to“ muss in den Jahren 1900 bis 9998 liegen." in response.get_data(
        as_text=True
    )
    assert client.get("/admin/actions?to=9998-12-31&from=1900-01-01").status_code == 200


def test_a_number_too_large_for_the_database_is_a_400_naming_it(client, login_as, data):
    login_as("admin")
    for url in ("/list/decline?page=", "/admin/outbox?page=", "/admin/actions?user="):
        response = client.get(url + "99999999999999999999999")
        assert response.status_code == 400, url
        assert "zu groß" in response.get_data(as_text=True)
    assert client.get("/case/99999999999999999999999").status_code == 404


def _post_form(client, url: str, values: dict) -> tuple[int, str]:
    page = client.get(url)
    assert page.status_code == 200, url
    html = page.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_from(html), **values})
    return response.status_code, response.get_data(as_text=True)


FORM_VALUES = ["1e309", "inf", "-inf", "nan", HUGE, str(2**63), str(2**31), "-1", "a\x00b"]
FIELD_RE = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"')


def _form(html: str, action: str) -> str:
    """The page's POST form that posts to ``action`` (its own URL when it names none)."""
    for form in re.findall(r"<form\b.*?</form>", html, re.S):
        head = form[: form.index(">")]
        mine = "action=" not in head or f'action="{action}"' in head
        if 'method="post"' in head and mine and len(FIELD_RE.findall(form)) > 1:
            return form
    raise AssertionError(f"no form posting to {action}")


def test_every_admin_form_field_takes_crafted_numbers_without_a_server_error(
    client, login_as, data
):
    """The settings forms (analysis, worker, backtest, a company's templates, a product
    group's texts): each field in turn gets each value, the rest stay as shown."""
    login_as("admin")
    forms = [
        ("/admin/analysis", "/admin/analysis"),
        ("/admin/jobs", "/admin/jobs"),
        ("/admin/backtest", "/admin/backtest"),
        (f"/admin/companies/{data['company_id']}", f"/admin/companies/{data['company_id']}"),
        (f"/admin/product-groups/{data['group_id']}", f"/admin/product-groups/{data['group_id']}"),
    ]
    failures = []
    for page_url, action in forms:
        html = client.get(page_url).get_data(as_text=True)
        form = _form(html, action)
        shown = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
        names = [n for n in dict.fromkeys(FIELD_RE.findall(form)) if n != "csrf_token"]
        assert names, page_url
        for name in names:
            for value in FORM_VALUES:
                fields = {**shown, "csrf_token": csrf_from(html), name: value}
                response = client.post(action, data=fields)
                if response.status_code >= 500:
                    failures.append((action, name, value, response.status_code))
    assert not failures, "\n".join(map(str, failures))


def test_a_template_id_past_what_the_database_holds_is_a_form_error(client, login_as, data, db):
    login_as("admin")
    url = f"/admin/companies/{data['company_id']}"
    html = client.get(url).get_data(as_text=True)
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', _form(html, url)))
    fields.update(csrf_token=csrf_from(html), standard_template_id=str(2**64 + 1))
    response = client.post(url, data=fields)
    assert response.status_code in (200, 400)
    assert "Standard-Template-ID: Die Zahl ist zu groß." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Company, data["company_id"]).standard_template_id == 61


def test_an_integer_setting_of_1e309_or_inf_is_a_form_error(client, login_as, data):
    login_as("admin")
    html = client.get("/admin/analysis").get_data(as_text=True)
    form = _form(html, "/admin/analysis")
    shown = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
    for value in ("1e309", "inf", "nan"):
        fields = {**shown, "csrf_token": csrf_from(html), "horizon_days": value}
        response = client.post("/admin/analysis", data=fields)
        assert response.status_code == 200
        assert "Es wurde nichts gespeichert" in response.get_data(as_text=True)

"""The serial message pages (G4): draft, preview, test send, schedule, send now, results;
admins only, CSRF on every step, a clear message for a mistake, no 500 for a crafted URL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from recovery.extensions import db
from recovery.models import JobRun, Message, SerialMessage
from tests.campaigns.helpers import shop
from tests.campaigns.test_serial import _group, _members
from tests.conftest import csrf_from

pytestmark = pytest.mark.usefixtures("always_open")


@pytest.fixture()
def setup(build):
    company = shop(build)
    group = _group()
    ids = _members(group, 4)
    return company, group, ids


def _new(client, company, group, **fields):
    page = client.get("/groups/serial/new").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(page),
        "name": "Frühjahr",
        "target": f"group:{group.id}",
        "company_id": company.id,
        "salutation": "formal",
        "template_id": "",
        "subject": "Neu im Frühjahr",
        "body": "wir haben neues Saatgut.",
    }
    data.update(fields)
    return client.post("/groups/serial/new", data=data)


def test_from_draft_to_sent_with_preview_test_and_results(client, login_as, setup, run_jobs):
    company, group, ids = setup
    admin = login_as("admin", locale="de", email="ada@gartenwelt.example")
    response = _new(client, company, group)
    assert response.status_code == 302
    item = db.session.scalars(select(SerialMessage)).one()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Vorschau für drei Mitglieder" in page
    assert page.count("Guten Tag Anna Schäfer") == 3 and f"Schäfer{ids[0]}" in page
    token = csrf_from(page)

    page = client.post(
        f"/groups/serial/{item.id}/test", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    assert "ada@gartenwelt.example" in page
    test = db.session.scalars(select(Message).where(Message.to_address == admin.email)).one()
    assert (test.state, test.subject) == ("outbox", "[Test] Neu im Frühjahr")

    page = client.post(
        f"/groups/serial/{item.id}/send", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    assert "werden eingereiht" in page
    assert run_jobs() == 1
    page = client.get(f"/groups/serial/{item.id}").get_data(as_text=True)
    assert "Ergebnisse" in page
    db.session.refresh(item)
    assert (item.state, item.recipients) == ("sent", 4)


def test_a_mistake_is_named_and_nothing_is_stored(client, login_as, setup):
    company, group, _ids = setup
    login_as("admin", locale="en")
    page = _new(client, company, group, subject="", body="").get_data(as_text=True)
    assert "give a Mailjet template ID, or a subject and a text" in page
    assert db.session.scalars(select(SerialMessage)).all() == []


def test_scheduling_needs_a_future_time_and_can_be_taken_back(client, login_as, setup):
    company, group, _ids = setup
    login_as("admin", locale="en")
    _new(client, company, group)
    item = db.session.scalars(select(SerialMessage)).one()
    token = csrf_from(client.get(f"/groups/serial/{item.id}").get_data(as_text=True))
    url = f"/groups/serial/{item.id}/schedule"
    for at, message in (
        ("2020-01-01T08:00", "choose a moment in the future"),
        ("nonsense", "enter them as on the form"),
    ):
        page = client.post(url, data={"csrf_token": token, "at": at}, follow_redirects=True)
        assert message in page.get_data(as_text=True)
    client.post(url, data={"csrf_token": token, "at": "2099-05-04T08:30"})
    db.session.refresh(item)
    assert item.state == "scheduled"
    assert item.scheduled_for.isoformat() == "2099-05-04T06:30:00+00:00"  # 8:30 in Berlin
    client.post(f"/groups/serial/{item.id}/unschedule", data={"csrf_token": token})
    db.session.refresh(item)
    assert (item.state, item.scheduled_for) == ("draft", None)
    assert db.session.scalars(select(JobRun)).all() == []


def test_every_step_needs_csrf_and_a_crafted_url_gives_no_500(client, login_as, setup):
    company, group, _ids = setup
    login_as("admin", locale="en")
    _new(client, company, group)
    item = db.session.scalars(select(SerialMessage)).one()
    assert client.post(f"/groups/serial/{item.id}/send").status_code == 400
    assert client.get("/groups/serial/999999").status_code == 404
    token = csrf_from(client.get(f"/groups/serial/{item.id}").get_data(as_text=True))
    assert client.post("/groups/serial/999999/send", data={"csrf_token": token}).status_code == 404
    assert client.get("/groups/serial/x").status_code == 404
    db.session.refresh(item)
    assert item.state == "draft"


def test_a_salesperson_may_not_write_to_a_whole_group(client, login_as, setup):
    company, group, _ids = setup
    item = SerialMessage(
        name="Frühjahr", group_id=group.id, company_id=company.id, subject="S", body="B"
    )
    db.session.add(item)
    db.session.commit()
    login_as("sales", locale="en")
    assert client.get("/groups/serial").status_code == 403
    assert client.get(f"/groups/serial/{item.id}").status_code == 403
    assert "Serial messages" not in client.get("/groups/").get_data(as_text=True)

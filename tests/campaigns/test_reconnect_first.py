"""The first ReConnect message by hand (R3): counted before anything is queued, queued
through the outbox once per overdue episode, on the company's channels, recorded in the
case history – per customer, per group and for all groups."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from recovery.campaigns import first
from recovery.campaigns.first import Scope, queue_first
from recovery.extensions import db
from recovery.models import (
    CaseEvent,
    JobRun,
    Message,
    ReconnectContact,
    ReconnectExclusion,
    utcnow,
)
from tests.campaigns.helpers import FIRST_TEMPLATE, overdue, shop, switch_on
from tests.conftest import csrf_from, make_user

pytestmark = pytest.mark.usefixtures("always_open")


def _messages() -> list[Message]:
    return db.session.scalars(select(Message).order_by(Message.id)).all()


def _confirm_and_post(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    return page


def test_contacting_a_group_counts_first_then_queues_once_through_a_job(
    client, login_as, build, run_jobs
):
    company = shop(build)
    seeds, tools = build.group("Saatgut"), build.group("Werkzeug")
    switch_on(seeds)
    a = overdue(build, company, seeds, first_name="Anna")
    b = overdue(build, company, seeds, first_name="Bert")
    off = overdue(build, company, seeds)
    db.session.add(ReconnectExclusion(customer_id=off.customer_id, product_group_id=seeds.id))
    overdue(build, company, seeds, email=None)  # not reachable
    overdue(build, company, tools)  # ReConnect off for this group
    db.session.commit()
    login_as("sales", locale="en")

    url = f"/reconnect/contact?group={seeds.id}"
    page = _confirm_and_post(client, url)
    assert "2 customers will get the first message." in page
    assert _messages() == []  # nothing before the worker ran
    assert db.session.query(JobRun).filter_by(kind="reconnect first").count() == 1
    run_jobs()

    sent = _messages()
    assert sorted(m.customer_id for m in sent) == sorted([a.customer_id, b.customer_id])
    assert {(m.purpose, m.channel, m.template_id, m.marketing) for m in sent} == {
        ("reconnect", "email", FIRST_TEMPLATE, True)
    }
    assert {m.variables["vorname"] for m in sent} == {"Anna", "Bert"}
    contacts = db.session.scalars(select(ReconnectContact)).all()
    assert {c.case_id for c in contacts} == {a.id, b.id}
    assert {c.first_channels for c in contacts} == {"email"}
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.kind == "reconnect_first")).all()
    assert sorted(e.case_id for e in events) == sorted([a.id, b.id])
    db.session.refresh(a)
    assert a.status == "contacted"

    # the same action again: nobody left, nothing queued twice
    page = client.get(url).get_data(as_text=True)
    assert "Nobody to contact" in page
    client.post(url, data={"csrf_token": csrf_from(page)})
    run_jobs()
    assert len(_messages()) == 2
    job = db.session.scalars(select(JobRun).order_by(JobRun.id.desc())).first()
    assert job.state == "done" and job.result["queued"] == 0


def test_contact_all_groups_sends_one_message_per_customer_within_the_cap(
    client, login_as, build, run_jobs
):
    company = shop(build)
    seeds, tools = build.group("Saatgut"), build.group("Werkzeug")
    switch_on(seeds)
    switch_on(tools)
    both = overdue(build, company, seeds)
    overdue(build, company, tools, customer=both.customer)
    single = overdue(build, company, tools)
    login_as("sales", locale="en")
    page = _confirm_and_post(client, "/reconnect/contact?all=1")
    assert "3 customers will get the first message." in page  # counted before the cap
    run_jobs()
    assert sorted(m.customer_id for m in _messages()) == sorted(
        [both.customer_id, single.customer_id]
    )
    job = db.session.scalars(select(JobRun).where(JobRun.kind == "reconnect first")).one()
    assert job.result["skipped"] == {"cap": 1}
    # the other group lists the customer as contacted too recently
    html = client.get(f"/reconnect/group/{tools.id}/unreachable").get_data(as_text=True)
    assert "contacted too recently" in html


def test_a_restricted_user_contacts_only_the_own_companys_customers(
    client, login_as, build, run_jobs
):
    ours, theirs = shop(build), shop(build, "Andere GmbH")
    group = build.group("Saatgut")
    switch_on(group)
    mine = overdue(build, ours, group)
    overdue(build, theirs, group)
    login_as("sales", locale="en", company_id=ours.id)
    page = _confirm_and_post(client, "/reconnect/contact?all=1")
    assert "1 customer will get the first message." in page
    run_jobs()
    assert [m.customer_id for m in _messages()] == [mine.customer_id]


@pytest.mark.parametrize(
    ("preference", "mobile", "channels"),
    [
        ("sms_else_email", "0171 1234567", ["sms"]),
        ("sms_else_email", None, ["email"]),
        ("both", "0171 1234567", ["email", "sms"]),
        ("sms", None, []),
    ],
)
def test_the_first_message_goes_out_on_the_companys_channels(
    app, db, build, preference, mobile, channels
):
    company = shop(build, channel_preference=preference)
    group = build.group("Saatgut")
    switch_on(group, email=True, sms=True)
    case = overdue(build, company, group, mobile=mobile, first_name="Jörg")
    with app.test_request_context():
        result = queue_first(Scope(group_ids=(group.id,)), make_user("sales"), utcnow())
    sent = _messages()
    assert sorted(m.channel for m in sent) == sorted(channels)
    assert result.queued == (1 if channels else 0)
    sms = [m for m in sent if m.channel == "sms"]
    if sms:
        assert sms[0].to_address == "+491711234567"
        assert sms[0].body.startswith("Hallo Jörg, Zeit für neues Saatgut?")
    contact = db.session.scalars(select(ReconnectContact)).one_or_none()
    assert sorted(contact.first_channels.split(",") if contact else []) == sorted(channels)
    assert (contact is not None) == bool(channels)
    assert case.id == (contact.case_id if contact else case.id)


def test_a_group_without_texts_is_flagged_and_sends_nothing(client, login_as, build, run_jobs):
    company = shop(build)
    group = build.group("Saatgut")
    switch_on(group, email=False, sms=False)
    overdue(build, company, group)
    login_as("sales", locale="en")
    page = _confirm_and_post(client, f"/reconnect/contact?group={group.id}")
    assert "No first email template or SMS text set" in page
    run_jobs()
    assert _messages() == [] and db.session.query(ReconnectContact).count() == 0


def test_one_customer_from_the_tab_row_goes_to_the_outbox_at_once(client, login_as, build):
    company = shop(build)
    group = build.group("Saatgut")
    switch_on(group)
    case = overdue(build, company, group, last_name="Einzeln")
    other = overdue(build, company, group)
    login_as("sales", locale="en")
    tab = client.get(f"/reconnect/group/{group.id}/reachable").get_data(as_text=True)
    url = f"/reconnect/contact?group={group.id}&customer={case.customer_id}"
    assert url.replace("&", "&amp;") in tab
    page = client.get(url).get_data(as_text=True)
    assert "1 customer will get the first message." in page
    response = client.post(url, data={"csrf_token": csrf_from(page)})
    html = client.get(response.location).get_data(as_text=True)
    assert "The first message was queued (1 message)." in html
    assert "Einzeln" not in html  # moved on to "first message sent"
    [message] = _messages()
    assert (message.customer_id, message.state) == (case.customer_id, "outbox")
    assert other.customer_id != message.customer_id
    case_page = client.get(f"/case/{case.id}").get_data(as_text=True)
    assert "ReConnect: first message queued" in case_page

    again = client.post(url, data={"csrf_token": csrf_from(page)})
    assert "Nothing was sent" in client.get(again.location).get_data(as_text=True)
    assert len(_messages()) == 1


def test_the_contact_row_is_the_conditional_write(app, db, build):
    """Two workers that both selected the case: the second insert finds the row."""
    company = shop(build)
    group = build.group("Saatgut")
    switch_on(group)
    case = overdue(build, company, group)
    texts = first._texts([group.id])[group.id]
    cap = first.MarketingCap(days=0)  # the cap would stop the second anyway; not here
    with app.test_request_context():
        done = [first.FirstResult(), first.FirstResult()]
        for result in done:
            now = utcnow()
            first._contact(case, texts, None, now, now, cap, result)
            db.session.commit()
    assert (done[0].queued, done[1].queued, done[1].skipped) == (1, 0, {"already": 1})
    assert len(_messages()) == 1


def test_a_batch_killed_half_way_sends_every_message_once_when_run_again(
    app, db, build, monkeypatch
):
    monkeypatch.setattr(first, "CHUNK", 2)
    company = shop(build)
    group = build.group("Saatgut")
    switch_on(group)
    cases = [overdue(build, company, group) for _ in range(5)]

    class Killed(Exception):
        pass

    def die(_done):
        raise Killed

    with app.test_request_context():
        with pytest.raises(Killed):
            queue_first(Scope(), None, utcnow(), progress=die)
        db.session.rollback()
        assert len(_messages()) == 2  # the first chunk was committed with its contacts
        result = queue_first(Scope(), None, utcnow())
    assert result.queued == 3
    assert sorted(m.customer_id for m in _messages()) == sorted(c.customer_id for c in cases)

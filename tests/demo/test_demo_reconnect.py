"""The demo with ReConnect: switched on for some groups, three months of history up to
today that the overview, the tabs and the results read (a small demo, loaded as the
``flask recovery demo`` command loads it)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from recovery.campaigns import lists
from recovery.campaigns.results import results
from recovery.demo_reconnect import seed_reconnect
from recovery.demo_setup import load_demo
from recovery.extensions import db
from recovery.messaging.cap import MarketingCap
from recovery.models import Message, ReconnectContact, ReconnectSettings, utcnow


@pytest.fixture()
def small_demo(db):
    started = time.perf_counter()
    summary = load_demo(seed=42, customers=400, echo=lambda _line: None)
    return summary, time.perf_counter() - started


def test_the_demo_has_three_months_of_reconnect_history(small_demo, client, login_as):
    summary, seconds = small_demo
    now = utcnow()
    assert "ReConnect on for 3 product groups" in summary
    on = db.session.scalars(select(ReconnectSettings).where(ReconnectSettings.enabled)).all()
    assert len(on) == 3
    contacts = db.session.scalars(select(ReconnectContact)).all()
    assert len(contacts) >= 20
    since = now - timedelta(days=92)
    assert all(since <= c.first_sent_at < now for c in contacts)
    credited = [c for c in contacts if c.reconnected_at is not None]
    assert credited and all(
        c.first_sent_at < c.reconnected_at <= c.first_sent_at + timedelta(days=30) for c in credited
    )
    assert any(c.followup_at for c in contacts) and any(c.followup_skipped for c in contacts)
    # Every follow-up long due was decided (sent, after a hold by the cap, or skipped).
    late = now - timedelta(days=14 + MarketingCap.load().days + 3)
    assert all(c.followup_at or c.followup_skipped for c in contacts if c.first_sent_at < late)
    # Every contact has its sent messages; the cap held between any two of a customer.
    messages = db.session.scalars(
        select(Message).where(Message.purpose.in_(("reconnect", "followup")))
    ).all()
    assert {m.state for m in messages} == {"sent"}
    assert {m.case_id for m in messages if m.purpose == "reconnect"} == {
        c.case_id for c in contacts
    }
    cap = timedelta(days=MarketingCap.load().days)
    by_customer: dict[int, list] = {}
    for m in messages:
        by_customer.setdefault(m.customer_id, []).append(m.sent_at)
    for times in by_customer.values():
        days = sorted(set(times))
        assert all(b - a >= cap for a, b in zip(days, days[1:], strict=False))

    overview = lists.overview(None, now)
    assert overview.total.first == len(contacts) and overview.total.reconnected == len(credited)
    data = results(None, now)
    assert data.total.contacted.customers == len(contacts)
    assert data.total.not_contacted.customers > 0
    assert sum(m.contacted for m in data.months) == len(contacts)
    assert sum(m.revenue for m in data.months) == sum(c.reconnected_revenue for c in credited)

    login_as("admin")
    page = client.get("/reconnect/results").get_data(as_text=True)
    assert "results-chart" in page and "Rückgewinnungsquote" in page
    group = on[0].product_group_id
    for tab in lists.TABS:
        assert client.get(f"/reconnect/group/{group}/{tab}").status_code == 200
    assert seconds < 120
    # Loaded again (--keep): nothing is written twice.
    again = seed_reconnect(utcnow())
    assert (again["contacts"], again["reconnected"]) == (len(contacts), len(credited))
    assert db.session.scalar(select(func.count(ReconnectContact.id))) == len(contacts)

"""The results page read from the worker's tally (``campaigns/results_tally.py``): the
same figures as counted live, on the results fixture and on a small demo, and counted
again when history changes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from recovery.campaigns import reminder_lists, results_tally
from recovery.campaigns.attribution import attribute
from recovery.campaigns.jobs import attribution_task
from recovery.campaigns.results import Results, results
from recovery.demo_setup import load_demo
from recovery.extensions import db
from recovery.models import (
    Company,
    ProductGroup,
    ReconnectContact,
    ReconnectExclusion,
    utcnow,
)
from tests.campaigns import test_reconnect_results as fixture
from tests.conftest import utc

NOW, _cells = fixture.NOW, fixture._cells
# The results tests' data and frozen page clock.
seeds, frozen = fixture.seeds, fixture.frozen


def _figures(data: Results) -> dict:
    """Everything the page shows of ``data``, as plain values."""
    rows = data.groups + ([data.total] if data.groups else [])
    return {
        "since": data.since,
        "groups": [
            (
                r.group_id,
                r.name if isinstance(r.name, str) else "total",
                r.enabled,
                r.overdue,
                (r.contacted.customers, r.contacted.reordered, r.contacted.revenue),
                (r.not_contacted.customers, r.not_contacted.reordered, r.not_contacted.revenue),
                r.switched_off,
                r.unreachable,
                r.compared,
            )
            for r in rows
        ],
        "months": [(m.month, m.contacted, m.reconnected, m.revenue) for m in data.months],
    }


def _reminder_figures(summary) -> list:
    return [summary.since] + [
        (r.group_id, r.name, r.mode, r.sent, r.reordered, r.revenue, r.held, r.skipped)
        for r in [*summary.groups, summary.total]
    ]


def _companies() -> list[int | None]:
    return [None, *db.session.scalars(select(Company.id))]


@pytest.fixture(autouse=True)
def in_a_request(app):
    """The reminders' total is named in words: the service calls run in a request."""
    with app.test_request_context():
        yield


def _assert_tally_is_live(now) -> None:
    for company_id in _companies():
        from_tally, reminders = results_tally.current(company_id, now)
        assert from_tally.counted_at == now
        assert _figures(from_tally) == _figures(results(company_id, now)), company_id
        live = reminder_lists.summary(company_id, now)
        assert _reminder_figures(reminders) == _reminder_figures(live), company_id


def test_the_tally_shows_the_live_results_for_every_company(seeds):
    results_tally.refresh(NOW)
    db.session.commit()
    _assert_tally_is_live(NOW)
    company, other, _group, _tools = seeds
    assert results_tally.current(other.id, NOW)[0].total.contacted.revenue == Decimal("300.00")
    assert results_tally.current(None, NOW)[0].total.contacted.revenue == Decimal("460.00")


def test_the_page_reads_the_tally_until_it_is_counted_again(seeds):
    company, _other, group, _tools = seeds
    results_tally.refresh(NOW)
    db.session.commit()
    later = NOW + timedelta(minutes=1)
    assert not results_tally.due(later)
    row = next(r for r in results(None, later).groups if r.group_id == group.id)
    # A customer switched off: the live count moves at once, the page after a count.
    case = db.session.scalars(  # the latest contact: its case is still open
        select(ReconnectContact.case_id)
        .where(ReconnectContact.product_group_id == group.id)
        .order_by(ReconnectContact.first_sent_at.desc())
    ).first()
    customer_id = db.session.scalar(
        select(ReconnectContact.customer_id).where(ReconnectContact.case_id == case)
    )
    db.session.delete(db.session.scalar(select(ReconnectContact).filter_by(case_id=case)))
    db.session.add(ReconnectExclusion(customer_id=customer_id, product_group_id=group.id))
    results_tally.changed()
    db.session.commit()
    shown = next(r for r in results_tally.current(None, later)[0].groups if r.group_id == group.id)
    assert shown.switched_off == row.switched_off  # not counted yet
    assert results_tally.due(later)
    assert results_tally.results_task(later) is True
    assert not results_tally.due(later)
    _assert_tally_is_live(later)
    shown = next(r for r in results_tally.current(None, later)[0].groups if r.group_id == group.id)
    assert shown.switched_off == row.switched_off + 1
    assert shown.contacted.customers == row.contacted.customers - 1


def test_counted_again_after_five_minutes_a_new_day_and_live_without_a_worker(seeds):
    results_tally.refresh(NOW)
    db.session.commit()
    assert not results_tally.due(NOW + timedelta(minutes=4))
    assert results_tally.due(NOW + results_tally.EVERY)
    # Counted at 23:58 Berlin (22:58 UTC): at 23:59 nothing is due, at 00:01 the
    # period moved on a day.
    results_tally.refresh(utc(2026, 3, 15, 22, 58))
    db.session.commit()
    assert not results_tally.due(utc(2026, 3, 15, 22, 59))
    assert results_tally.due(utc(2026, 3, 15, 23, 1))
    # No worker for longer than STALE: the page counts live and says nothing of a tally.
    late = utc(2026, 3, 15, 22, 58) + results_tally.STALE + timedelta(minutes=1)
    data = results_tally.current(None, late)[0]
    assert data.counted_at is None
    assert _figures(data) == _figures(results(None, late))


def test_a_credit_by_the_attribution_counts_the_results_again(seeds, build):
    company, _other, group, _tools = seeds
    results_tally.refresh(NOW)
    db.session.commit()
    c = db.session.scalars(
        select(ReconnectContact).where(
            ReconnectContact.product_group_id == group.id,
            ReconnectContact.reconnected_at.is_(None),
            ReconnectContact.first_sent_at >= utc(2026, 3, 1),
        )
    ).one()
    build.order(c.customer, utc(2026, 3, 10, 9), "25.00", "Saatgut")
    assert attribution_task(NOW) == 1
    assert results_tally.due(NOW)
    results_tally.results_task(NOW)
    _assert_tally_is_live(NOW)
    row = next(r for r in results_tally.current(None, NOW)[0].groups if r.group_id == group.id)
    assert row.contacted.revenue == Decimal("185.00")


def test_the_results_page_says_as_of_when_it_reads_the_tally(client, login_as, seeds, frozen):
    _company, _other, group, _tools = seeds
    login_as("admin")
    live = client.get("/reconnect/results").get_data(as_text=True)
    assert "Stand:" not in live
    results_tally.refresh(NOW - timedelta(minutes=2))
    db.session.commit()
    html = client.get("/reconnect/results").get_data(as_text=True)
    assert "Stand: 15.03.2026 12:58" in html  # 11:58 UTC in Berlin
    assert _cells(html, f'data-group="{group.id}"') == _cells(live, f'data-group="{group.id}"')
    assert html.split('class="results-chart"')[1] == live.split('class="results-chart"')[1]


@pytest.fixture()
def small_demo(db):
    load_demo(seed=42, customers=400, echo=lambda _line: None)


def test_the_tally_equals_the_live_results_on_the_demo(small_demo, build):
    now = utcnow()
    results_tally.refresh(now)
    db.session.commit()
    before, reminders = results_tally.current(None, now)
    assert before.total.contacted.customers >= 20 and before.total.contacted.reordered
    assert reminders.total.sent and reminders.total.reordered
    assert any(m.contacted for m in before.months)
    _assert_tally_is_live(now)
    # New history – an order from a contacted customer's group, credited – and the
    # tally follows it at its next count.
    contact = db.session.scalars(
        select(ReconnectContact)
        .where(
            ReconnectContact.reconnected_at.is_(None),
            ReconnectContact.first_sent_at >= now - timedelta(days=20),
        )
        .order_by(ReconnectContact.id)
    ).first()
    ordered = now - timedelta(minutes=5)
    group = db.session.get(ProductGroup, contact.product_group_id)
    build.order(contact.customer, ordered, "42.00", group.name)
    assert attribute(now) >= 1
    later = now + timedelta(minutes=1)
    results_tally.refresh(later)
    db.session.commit()
    _assert_tally_is_live(later)
    after = results_tally.current(None, later)[0]
    assert after.total.contacted.reordered > before.total.contacted.reordered

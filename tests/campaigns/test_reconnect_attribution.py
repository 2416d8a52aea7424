"""Reconnected (R4): an order with a line of the group inside the attribution window
after the first message; its revenue in that group credited once, to the latest
contact before it; shown in the overview, the tab and the case history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from recovery.extensions import db
from recovery.jobs import registry
from recovery.models import CaseEvent, OrderLine, ReconnectContact, utcnow
from tests.campaigns.helpers import overdue, shop, switch_on
from tests.concurrency import at_once

pytestmark = pytest.mark.usefixtures("always_open")
DAY = timedelta(days=1)


def _attribute(now=None):
    task = next(t for t in registry.recurring_tasks() if t.name == "reconnect attribution")
    return task.run(now)


def _contact(case, sent_at) -> ReconnectContact:
    contact = ReconnectContact(
        case_id=case.id,
        customer_id=case.customer_id,
        product_group_id=case.product_group_id,
        company_id=case.company_id,
        first_sent_at=sent_at,
        first_channels="email",
    )
    db.session.add(contact)
    db.session.commit()
    return contact


def _mixed_order(build, customer, when, state="completed"):
    """An order with 40 € of Saatgut and 500 € of Werkzeug."""
    order = build.order(customer, when, "40.00", "Saatgut", state=state)
    db.session.add(
        OrderLine(
            order_id=order.id,
            line_no=2,
            sku="W-1",
            product_name="Spaten",
            product_group_id=build.group("Werkzeug").id,
            quantity=Decimal(1),
            net_amount=Decimal("500.00"),
        )
    )
    db.session.commit()
    return order


@pytest.fixture()
def setup(build):
    company = shop(build)
    group = build.group("Saatgut")
    switch_on(group)
    case = overdue(build, company, group, last_name="Gärtner")
    return build, case, _contact(case, utcnow() - 10 * DAY)


def test_an_order_of_the_group_inside_the_window_reconnects_with_its_group_revenue(
    client, login_as, setup
):
    build, case, contact = setup
    order = _mixed_order(build, case.customer, utcnow() - 2 * DAY)
    assert _attribute() == 1
    assert _attribute() == 0  # once
    db.session.refresh(contact)
    assert (contact.reconnected_order_id, contact.reconnected_revenue) == (
        order.id,
        Decimal("40.00"),
    )
    [event] = db.session.scalars(select(CaseEvent).where(CaseEvent.kind == "reconnected"))
    assert event.case_id == case.id
    login_as("sales", locale="en")
    html = client.get("/reconnect/").get_data(as_text=True)
    row = html.split(f'data-group="{case.product_group_id}"')[1].split("</tr>")[0]
    assert "€40.00" in row
    tab = client.get(f"/reconnect/group/{case.product_group_id}/reconnected")
    assert "Gärtner" in tab.get_data(as_text=True)
    assert "ReConnect: reconnected by an order" in client.get(f"/case/{case.id}").get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("when", "state", "group"),
    [
        (-11, "completed", "Saatgut"),  # before the first message
        (25, "completed", "Saatgut"),  # after the 30-day window (sent 10 days ago → day 35)
        (-2, "cancelled", "Saatgut"),
        (-2, "completed", "Werkzeug"),  # another group only
    ],
    ids=["before", "after the window", "cancelled", "other group"],
)
def test_orders_that_do_not_reconnect(setup, when, state, group):
    build, case, contact = setup
    now = utcnow() + (30 * DAY if when > 0 else 0 * DAY)
    build.order(case.customer, utcnow() + when * DAY, "40.00", group, state=state)
    assert _attribute(now) == 0
    db.session.refresh(contact)
    assert contact.reconnected_at is None


def test_one_order_is_credited_once_to_the_latest_contact_before_it(build):
    company = shop(build)
    group = build.group("Saatgut")
    switch_on(group)
    earlier_case = overdue(build, company, group)
    earlier_case.closed_at = utcnow() - 20 * DAY  # an earlier episode of the same pair
    db.session.commit()
    later_case = overdue(build, company, group, customer=earlier_case.customer)
    earlier = _contact(earlier_case, utcnow() - 25 * DAY)
    later = _contact(later_case, utcnow() - 5 * DAY)
    build.order(later_case.customer, utcnow() - 1 * DAY, "70.00", "Saatgut")
    assert _attribute() == 1
    db.session.refresh(earlier)
    db.session.refresh(later)
    assert later.reconnected_revenue == Decimal("70.00")
    assert earlier.reconnected_at is None


def test_two_workers_crediting_at_once_credit_each_order_once(app, build, monkeypatch):
    """The credits are written set-wise (here 2 per statement, so several chunks): two
    workers at once write each credit and its history entry once."""
    from recovery.campaigns import attribution

    monkeypatch.setattr(attribution, "CHUNK", 2)
    company = shop(build)
    group = build.group("Saatgut")
    switch_on(group)
    orders = {}
    for n in range(5):
        case = overdue(build, company, group, first_name=f"Kunde{n}")
        contact = _contact(case, utcnow() - 10 * DAY)
        orders[contact.id] = build.order(case.customer, utcnow() - DAY, f"{n + 1}0.00", "Saatgut")
    credited = at_once(app, lambda _i: attribution.attribute(), 2)
    assert all(isinstance(n, int) for n in credited) and sum(credited) == 5, credited
    db.session.expire_all()
    for contact in db.session.scalars(select(ReconnectContact)):
        order = orders[contact.id]
        assert contact.reconnected_order_id == order.id
        assert contact.reconnected_at == order.ordered_at
        assert contact.reconnected_revenue == order.net_total
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.kind == "reconnected")).all()
    assert len(events) == 5

"""Dates in the business's days (issue 12, item 2).

Orders are stored in UTC; an order at 00:30 in Berlin is on the previous UTC day. The
analysis, the case's last order (lists, case page, CSV export), the message variables
and "as of a date" must all count in Europe/Berlin days (BABEL_DEFAULT_TIMEZONE), on
both sides of a daylight-saving change.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from recovery.cases.analysis import run_analysis
from recovery.formatting import local_day
from recovery.messaging.outbox import customer_context, variables_for
from recovery.models import Case

BERLIN = ZoneInfo("Europe/Berlin")
AS_OF = datetime(2025, 12, 1, 12, 0, tzinfo=BERLIN)

# last order (local wall clock) → the business day it belongs to
LAST_ORDERS = [
    datetime(2025, 3, 29, 23, 30, tzinfo=BERLIN),  # CET, the night before the change
    datetime(2025, 3, 30, 0, 30, tzinfo=BERLIN),  # CET: 29.03. 23:30 UTC
    datetime(2025, 10, 26, 0, 30, tzinfo=BERLIN),  # CEST: 25.10. 22:30 UTC
    datetime(2025, 10, 26, 23, 30, tzinfo=BERLIN),  # CET, after the change
]


def _decliner(build, company, last: datetime):
    """An order every 60 days up to ``last``; 550 € for the last 14 months, 1,000 € before."""
    customer = build.customer()
    for k in range(14):
        when = last - timedelta(days=60 * k)  # same wall clock, across DST
        build.order(customer, when, "550.00" if k < 7 else "1000.00", "Dünger", company)
    return customer


@pytest.fixture()
def decliners(build, db):
    company = build.company()
    customers = [_decliner(build, company, last) for last in LAST_ORDERS]
    run_analysis(as_of=AS_OF)
    return customers


def _case(db, customer) -> Case:
    return db.session.query(Case).filter_by(customer_id=customer.id, kind="decline").one()


def test_case_keeps_the_business_day_of_the_last_order(decliners, db):
    for customer, last in zip(decliners, LAST_ORDERS, strict=True):
        case = _case(db, customer)
        assert local_day(case.last_order_at, BERLIN) == last.date(), last


def test_overdue_reason_counts_business_days(decliners, db):
    for customer, last in zip(decliners, LAST_ORDERS, strict=True):
        case = db.session.query(Case).filter_by(customer_id=customer.id, kind="overdue").first()
        if case is None:
            continue
        assert case.reason_params["days_since_last_order"] == (AS_OF.date() - last.date()).days


def test_list_case_page_and_export_show_the_date_of_the_order(client, login_as, decliners, db):
    login_as("admin")
    listing = client.get("/list/decline").get_data(as_text=True)
    export = client.get("/list/decline/export.csv").get_data(as_text=True)
    for customer, last in zip(decliners, LAST_ORDERS, strict=True):
        shown = f"{last:%d.%m.%Y}"
        row = next(line for line in export.splitlines() if customer.number in line)
        assert shown in row, (shown, row)
        assert shown in listing
        page = client.get(f"/case/{_case(db, customer).id}").get_data(as_text=True)
        figures = page[page.index('class="figures"') : page.index("</dl>")]
        assert shown in figures, (shown, figures)


def test_variables_count_business_days(app, decliners, db):
    customer = decliners[1]  # last order 30.03.2025 00:30 local
    with app.test_request_context():
        values = variables_for(customer, customer_context(customer), None)
    assert values["letzte_bestellung"] == "30.03.2025"
    today = datetime.now(BERLIN).date()
    assert values["letzte_bestellung_tage"] == str((today - date(2025, 3, 30)).days)


def test_analysis_as_of_a_date_ends_with_the_business_day(build, db, run_jobs):
    """``as_of 2025-10-25`` includes 25.10. 23:30 and leaves out 26.10. 00:30 (Berlin)."""
    from recovery.jobs import enqueue

    company = build.company()
    inside = _decliner(build, company, datetime(2025, 10, 25, 23, 30, tzinfo=BERLIN))
    after = _decliner(build, company, datetime(2025, 10, 24, 23, 30, tzinfo=BERLIN))
    build.order(after, datetime(2025, 10, 26, 0, 30, tzinfo=BERLIN), "550.00", "Dünger", company)
    enqueue("analyze", {"as_of": "2025-10-25"})
    db.session.commit()
    assert run_jobs() == 1
    assert local_day(_case(db, inside).last_order_at, BERLIN) == date(2025, 10, 25)
    assert local_day(_case(db, after).last_order_at, BERLIN) == date(2025, 10, 24)

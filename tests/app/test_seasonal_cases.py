"""Seasonal customers in the app (issue 17 part 3): the analysis counts months in the
business's days, opens no case out of season and one when a season passes without an
order, and the case page says "saisonal (März–April)"."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from recovery.cases.analysis import run_analysis
from recovery.models import Case

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture()
def gardener(build, db):
    """Orders on 1 March at 00:30 (28/29 February in UTC) and mid-April, 2023–2025."""
    company = build.company()
    customer = build.customer()
    for year in (2023, 2024, 2025):
        for when in (datetime(year, 3, 1, 0, 30), datetime(year, 4, 15, 10, 0)):
            build.order(customer, when.replace(tzinfo=BERLIN), "80.00", "Saatgut", company)
    return customer


def _cases(db, customer) -> list[Case]:
    return db.session.query(Case).filter_by(customer_id=customer.id).all()


def test_no_case_out_of_season(gardener, db):
    run_analysis(as_of=datetime(2025, 12, 15, 12, 0, tzinfo=BERLIN))
    assert _cases(db, gardener) == []


def test_case_when_the_season_passed_without_an_order(gardener, db, client, login_as):
    run_analysis(as_of=datetime(2026, 5, 2, 12, 0, tzinfo=BERLIN))
    (case,) = _cases(db, gardener)
    assert case.kind == "overdue"
    assert case.reason_key == "group_season"
    # March–April in Berlin; in UTC the first orders would be in February
    assert case.reason_text == (
        "„Saatgut“ saisonal (März–April): in der letzten Saison nicht bestellt; "
        "zuletzt vor 382 Tagen"
    )
    assert case.expected_next_order == datetime(2027, 3, 1, tzinfo=BERLIN)
    login_as("admin")
    page = client.get(f"/case/{case.id}").get_data(as_text=True)
    assert "„Saatgut“ saisonal (März–April): in der letzten Saison nicht bestellt" in page


def test_the_case_page_says_it_in_english(gardener, db, client, login_as):
    run_analysis(as_of=datetime(2026, 5, 2, 12, 0, tzinfo=BERLIN))
    (case,) = _cases(db, gardener)
    login_as("sales", locale="en")
    page = client.get(f"/case/{case.id}").get_data(as_text=True)
    assert "“Saatgut” seasonal (March–April): not ordered in the last season" in page


def test_the_case_closes_quietly_in_the_next_season_once_ordered(gardener, build, db):
    run_analysis(as_of=datetime(2026, 5, 2, 12, 0, tzinfo=BERLIN))
    (case,) = _cases(db, gardener)
    build.order(gardener, datetime(2027, 3, 4, 9, 0, tzinfo=BERLIN), "80.00", "Saatgut")
    run_analysis(as_of=datetime(2027, 3, 10, 12, 0, tzinfo=BERLIN))
    db.session.refresh(case)
    assert case.status == "recovered"

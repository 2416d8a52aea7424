"""ReConnect's results (R5): per group and in total for the last 3 months, per month for
the chart, and the comparison with overdue customers who were not contacted."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from recovery.campaigns.results import results
from recovery.extensions import db
from recovery.models import ReconnectContact, ReconnectExclusion
from tests.campaigns.helpers import overdue as open_overdue
from tests.campaigns.helpers import shop, switch_on
from tests.conftest import utc

DAY = timedelta(days=1)
# "Now" of the service tests: the period is 15 Dec 2025 (Berlin) to 15 Mar 2026.
NOW = utc(2026, 3, 15, 12)


def _contact(case, sent_at, reconnected_at=None, revenue=None) -> ReconnectContact:
    contact = ReconnectContact(
        case_id=case.id,
        customer_id=case.customer_id,
        product_group_id=case.product_group_id,
        company_id=case.company_id,
        first_sent_at=sent_at,
        first_channels="email",
        reconnected_at=reconnected_at,
        reconnected_revenue=Decimal(revenue) if revenue else None,
    )
    db.session.add(contact)
    db.session.commit()
    return contact


def overdue(build, company, group, opened_at, closed_at=None, **customer):
    """An overdue case opened (and closed) at the given times."""
    case = open_overdue(build, company, group, **customer)
    case.opened_at, case.closed_at = opened_at, closed_at
    db.session.commit()
    return case


@pytest.fixture()
def seeds(build):
    """Saatgut in Gartenwelt: 3 contacted in the period (2 reconnected, 100 € and 60 €),
    one contacted before it; not contacted: one switched off who ordered (45 €), one
    without email who ordered outside the window, one without email who ordered
    nothing but a cancelled order; one reachable nobody contacted; Werkzeug in another
    company with one contact."""
    company, other = shop(build), shop(build, "Werkstatt AG")
    group, tools = build.group("Saatgut"), build.group("Werkzeug")
    switch_on(group)
    opened = utc(2025, 11, 1)
    a = overdue(build, company, group, opened_at=opened)
    _contact(a, utc(2026, 1, 10, 9), utc(2026, 1, 20, 9), "100.00")
    b = overdue(build, company, group, opened_at=opened)
    _contact(b, utc(2026, 2, 3, 9), utc(2026, 3, 2, 9), "60.00")
    c = overdue(build, company, group, opened_at=opened)
    _contact(c, utc(2026, 3, 1, 9))
    old = overdue(build, company, group, opened_at=utc(2025, 6, 1), closed_at=utc(2025, 9, 1))
    _contact(old, utc(2025, 7, 1), utc(2025, 7, 10), "999.00")

    off = overdue(build, company, group, opened_at=utc(2026, 1, 5))
    db.session.add(ReconnectExclusion(customer_id=off.customer_id, product_group_id=group.id))
    db.session.commit()
    build.order(off.customer, utc(2026, 1, 25), "45.00", "Saatgut")
    build.order(off.customer, utc(2026, 1, 28), "500.00", "Werkzeug")  # another group
    late = overdue(build, company, group, utc(2025, 10, 1), email=None)
    build.order(late.customer, utc(2026, 2, 1), "70.00", "Saatgut")  # 48 days after 15 Dec
    never = overdue(build, company, group, opened, email=None)
    build.order(never.customer, utc(2026, 1, 2), "80.00", "Saatgut", state="cancelled")
    overdue(build, company, group, opened_at=opened)  # reachable, not contacted: neither
    # Closed before the period: not overdue in it.
    overdue(build, company, group, opened_at=utc(2025, 6, 1), closed_at=utc(2025, 12, 1))

    # Dünger: ReConnect never used; its overdue customers stay out of the total's comparison.
    overdue(build, company, build.group("Dünger"), opened, email=None)
    tool = overdue(build, other, tools, opened_at=opened)
    _contact(tool, utc(2026, 2, 10, 9), utc(2026, 2, 12, 9), "300.00")
    return company, other, group, tools


def test_results_per_group_and_total_with_the_not_contacted_comparison(seeds):
    company, _other, group, tools = seeds
    data = results(None, NOW)
    assert data.since.date() == date(2025, 12, 15)
    rows = {r.name: r for r in data.groups}
    seeds_row = rows["Saatgut"]
    assert seeds_row.enabled and seeds_row.overdue == 7  # a, b, c, off, late, never, reachable
    assert (seeds_row.contacted.customers, seeds_row.contacted.reordered) == (3, 2)
    assert seeds_row.contacted.revenue == Decimal("160.00")
    assert seeds_row.contacted.rate == pytest.approx(200 / 3)
    assert seeds_row.contacted.per_customer == Decimal("53.33")
    nc = seeds_row.not_contacted
    assert (nc.customers, nc.reordered, nc.revenue) == (3, 1, Decimal("45.00"))
    assert (seeds_row.switched_off, seeds_row.unreachable) == (1, 2)
    assert seeds_row.uplift == pytest.approx(200 / 3 - 100 / 3)
    assert rows["Werkzeug"].contacted.revenue == Decimal("300.00")
    assert rows["Werkzeug"].not_contacted.customers == 0 and rows["Werkzeug"].uplift is None
    assert rows["Dünger"].not_contacted.customers == 1
    total = data.total
    assert (total.overdue, total.contacted.customers, total.contacted.reordered) == (9, 4, 3)
    assert total.contacted.revenue == Decimal("460.00")
    assert (total.not_contacted.customers, total.unreachable) == (3, 2)


def test_months_count_first_messages_when_sent_and_revenue_when_reconnected(seeds):
    data = results(None, NOW)
    months = [(m.month, m.contacted, m.reconnected, m.revenue) for m in data.months]
    assert months == [
        (date(2025, 12, 1), 0, 0, Decimal("0.00")),
        (date(2026, 1, 1), 1, 1, Decimal("100.00")),
        (date(2026, 2, 1), 2, 1, Decimal("300.00")),
        (date(2026, 3, 1), 1, 1, Decimal("60.00")),
    ]
    assert data.peak == 2


def test_a_restricted_user_sees_only_the_company_s_results(seeds):
    company, other, _group, _tools = seeds
    data = results(other.id, NOW)
    assert [r.name for r in data.groups] == ["Werkzeug"]
    assert data.total.contacted.revenue == Decimal("300.00")
    assert sum(m.contacted for m in data.months) == 1
    assert "Werkzeug" not in [r.name for r in results(company.id, NOW).groups]


def test_the_comparison_window_is_the_group_s_attribution_window(seeds):
    _company, _other, group, _tools = seeds
    from recovery.models import ReconnectSettings

    db.session.get(ReconnectSettings, group.id).attribution_days = 60
    db.session.commit()
    row = next(r for r in results(None, NOW).groups if r.name == "Saatgut")
    # The order 48 days after the start of the period now counts.
    assert (row.not_contacted.reordered, row.not_contacted.revenue) == (2, Decimal("115.00"))


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _cells(html: str, marker: str) -> list[str]:
    row = html.split(marker)[1].split("</tr>")[0]
    return [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


@pytest.fixture()
def frozen(monkeypatch):
    """The pages' clock at ``NOW``."""
    monkeypatch.setattr("recovery.reconnect.routes.utcnow", lambda: NOW)


def test_results_page_in_german_with_chart_and_uplift(client, login_as, seeds, frozen):
    _company, _other, group, _tools = seeds
    login_as("admin")
    response = client.get("/reconnect/results")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = _text(html)
    assert "ReConnect-Ergebnisse" in text and "Seit 15.12.2025" in text
    assert _cells(html, f'data-group="{group.id}"') == [
        "Saatgut", "7", "3", "2", "66,7 %", "160,00 €", "53,33 €",
        "3", "33,3 %", "45,00 €", "15,00 €", "+33,3 Pp.",
    ]  # fmt: skip
    assert _cells(html, 'class="total"')[:6] == [
        "Alle Warengruppen",
        "9",
        "4",
        "3",
        "75,0 %",
        "460,00 €",
    ]
    # The chart: one labelled group per month, German month names, the year once.
    chart = html.split('class="results-chart"')[1].split("</svg>")[0]
    assert re.findall(r'text-anchor="middle">([^<]*\d{4}|[A-Z][a-zä]+\.?)</text>', chart) == [
        "Dez. 2025", "Jan. 2026", "Feb.", "März",
    ]  # fmt: skip
    assert "300,00\xa0€" in chart and "Kontaktiert (erste Nachricht)" in text
    # Its link from the overview.
    assert "/reconnect/results" in client.get("/reconnect/").get_data(as_text=True)


def test_results_page_of_a_restricted_user_hides_other_companies(client, login_as, seeds, frozen):
    _company, other, _group, _tools = seeds
    login_as("sales", company_id=other.id)
    text = _text(client.get("/reconnect/results").get_data(as_text=True))
    assert "Werkzeug" in text and "Saatgut" not in text


def test_results_page_without_data_says_so(client, login_as):
    login_as("sales")
    text = _text(client.get("/reconnect/results").get_data(as_text=True))
    assert "Keine überfälligen Kunden in den letzten 3 Monaten." in text


def test_results_need_a_login(client):
    assert client.get("/reconnect/results").status_code == 302


def test_a_group_reconnect_never_wrote_to_shows_no_comparison(client, login_as, seeds, frozen):
    login_as("admin", locale="en")
    html = client.get("/reconnect/results").get_data(as_text=True)
    fertiliser = next(r for r in results(None, NOW).groups if r.name == "Dünger")
    assert not fertiliser.compared and fertiliser.not_contacted.customers == 1
    # overdue 1, contacted 0 …, then 1 not contacted, and no rate, revenue or uplift for them
    assert _cells(html, f'data-group="{fertiliser.group_id}"')[1:] == [
        "1", "0", "0", "–", "€0.00", "–", "1", "–", "–", "–", "–",
    ]  # fmt: skip

"""Overview, ReConnect and Groups show what the data say, per user's company."""

from __future__ import annotations

from decimal import Decimal

from recovery.models import utcnow


def test_groups_page_counts_customers_and_open_cases(client, login_as, build):
    login_as("sales")
    company = build.company()
    dealer = build.customer(customer_group="Händler")
    build.customer(customer_group="Händler")
    build.customer(customer_group="Endkunde")
    build.case(dealer, company, revenue_at_risk=Decimal("321.00"))
    html = client.get("/groups/").get_data(as_text=True)
    row = html.split("Händler</td>")[1].split("</tr>")[0]
    assert ">2<" in row and ">1</a>" in row and "321,00" in row


def test_overview_shows_recovered_revenue(client, login_as, build):
    login_as("sales")
    company = build.company()
    customer = build.customer()
    build.case(
        customer,
        company,
        status="recovered",
        recovered_revenue=Decimal("777.00"),
        recovered_at=utcnow(),
        closed_at=utcnow(),
    )
    html = client.get("/overview/").get_data(as_text=True)
    assert "777,00" in html


def test_reconnect_lists_overdue_by_group(client, login_as, build):
    login_as("sales")
    company = build.company()
    group = build.group("Saatgut")
    reachable = build.customer()
    unreachable = build.customer(email=None)
    for customer in (reachable, unreachable):
        build.case(
            customer, company, kind="overdue", key=f"overdue:{group.id}", product_group_id=group.id
        )
    html = client.get("/reconnect/").get_data(as_text=True)
    row = html.split("Saatgut</td>")[1].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in row.split('class="num">')[1:]] == ["2", "1", "1"]

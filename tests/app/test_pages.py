"""Overview, ReConnect and Groups show what the data say, per user's company."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from recovery.models import JobRun, utcnow


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
    row = html.split("Saatgut</a></td>")[1].split("</tr>")[0]
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td class=\"num\">(.*?)</td>", row)]
    assert cells[:3] == ["2", "1", "1"]


def test_backtest_page_names_the_model_in_words_with_the_readers_decimals(
    client, login_as, build, db
):
    from recovery.cases.analysis import as_of_end, run_backtest
    from tests.app.test_analysis_cases import _decliner

    company = build.company()
    for _ in range(3):
        _decliner(build, company)
    result = run_backtest(as_of_end((utcnow() - timedelta(days=200)).date()), 90).to_dict()
    # the page's numbers as a backtest may find them, and no plain BG/NBD fitted
    result.update(auc_p_churn=0.885, auc_days_since_last_order=0.88, auc_bgnbd=None)
    models = {
        "renewal": ("Erneuerungsmodell (Rhythmus)", "Renewal model (rhythm)"),
        "bgnbd": ("BG/NBD", "BG/NBD"),
        "mbgnbd": ("MBG/NBD", "MBG/NBD"),
        "rhythm": ("Rhythmus (Ersatzverfahren)", "Rhythm (fallback)"),
    }
    jobs = {}
    for model in models:
        job = JobRun(kind="backtest", state="done", result={**result, "model": {"model": model}})
        db.session.add(job)
        db.session.commit()
        jobs[model] = job.id
    admin = login_as("admin")
    for model, (german, _english) in models.items():
        html = client.get(f"/admin/backtest?job={jobs[model]}").get_data(as_text=True)
        assert f"<dd>{german}</dd>" in html and f"<dd>{model}</dd>" not in html
        assert "<dd>0,885</dd>" in html and "<dd>0,880</dd>" in html and "<dd>–</dd>" in html
        assert "0.885" not in html and "0.88" not in html
    admin.locale = "en"
    db.session.commit()
    for model, (_german, english) in models.items():
        html = client.get(f"/admin/backtest?job={jobs[model]}").get_data(as_text=True)
        assert f"<dd>{english}</dd>" in html and "<dd>0.885</dd>" in html


def test_overview_counts_recovered_revenue_in_the_business_month(client, login_as, build):
    """Recovered on the 1st of this month at 00:30 in Berlin – the evening before in UTC –
    counts for this month, not the last."""
    from zoneinfo import ZoneInfo

    from recovery.formatting import month

    login_as("sales")
    berlin = ZoneInfo("Europe/Berlin")
    today = utcnow().astimezone(berlin).date()
    when = datetime(today.year, today.month, 1, 0, 30, tzinfo=berlin).astimezone(UTC)
    assert when.month != today.month or when.year != today.year  # the day before in UTC
    build.case(
        build.customer(),
        build.company(),
        status="recovered",
        recovered_revenue=Decimal("555.00"),
        recovered_at=when,
        closed_at=when,
    )
    html = client.get("/overview/").get_data(as_text=True)
    assert f"<title>{month(today.replace(day=1), 'de')}: 555,00\xa0€</title>" in html


def test_overview_chart_labels_fit_their_bars(client, login_as):
    """Each bar is 40 units wide: its label is the month's short name, the year stands
    once under the first bar and under each January (full "Jan. 2026" labels overlapped)."""
    import re

    login_as("sales")
    html = client.get("/overview/").get_data(as_text=True)
    chart = html[html.index('<svg class="chart"') : html.index("</svg>")]
    labels = re.findall(r'<text x="\d+" y="124" text-anchor="middle">([^<]+)</text>', chart)
    assert len(labels) == 12 and all(len(label) <= 5 for label in labels), labels
    years = re.findall(r'class="year">(\d{4})</text>', chart)
    assert 1 <= len(years) <= 2


def test_backtest_page_shows_the_rankings_and_the_calibration_before_and_after(
    client, login_as, build, db
):
    from recovery.cases.analysis import as_of_end, run_backtest
    from tests.app.test_analysis_cases import _decliner

    company = build.company()
    for _ in range(3):
        _decliner(build, company)
    result = run_backtest(as_of_end((utcnow() - timedelta(days=200)).date()), 90).to_dict()
    ranking = [
        ("expected_revenue", 0.589, 0.745, 0.3, 0.42),
        ("revenue_at_risk", 0.4, 0.6, 0.5, 0.7),
        ("past_revenue", 0.5, 0.7, 0.45, 0.65),
        ("bgnbd_gg", 0.571, 0.744, None, 0.35),
    ]
    keys = ("ranking", "top10_future", "top20_future", "top10_lost", "top20_lost")
    result.update(
        ranking=[dict(zip(keys, row, strict=True)) for row in ranking],
        future_revenue=1234.5,
        calibration=[{"customers": 40, "predicted": 0.05, "observed": 0.06}],
        calibration_uncalibrated=[{"customers": 40, "predicted": 0.01, "observed": 0.06}],
        calibration_error=0.01,
        calibration_error_uncalibrated=0.05,
        model={
            "model": "renewal",
            "revenue_model": "blend",
            "seasonal_revenue": True,
            "calibrated": True,
            "time_split": {"calibrator": {"kind": "scaling", "x": [], "y": [], "a": 0.5, "b": 0}},
        },
    )
    job = JobRun(kind="backtest", state="done", result=result)
    db.session.add(job)
    db.session.commit()
    admin = login_as("admin")
    html = client.get(f"/admin/backtest?job={job.id}").get_data(as_text=True)
    html = re.sub(r"\s+", " ", html).replace("\xa0", " ")
    assert "Welche Kunden kommen zuerst?" in html and "1.234,50" in html
    assert "Umsatz danach" in html and "oberste 10 %" in html
    row = html.split("<td>Erwarteter Umsatz</td>")[1].split("</tr>")[0]
    assert re.findall(r'class="num">([^<]*)<', row) == ["58,9 %", "74,5 %", "30,0 %", "42,0 %"]
    row = html.split("<td>BG/NBD × Gamma-Gamma</td>")[1].split("</tr>")[0]
    assert re.findall(r'class="num">([^<]*)<', row) == ["57,1 %", "74,4 %", "–", "35,0 %"]
    assert "Umsatz der letzten 12 Monate" in html
    assert "Der erwartete Umsatz stammt aus: Mittel der Modelle." in html
    assert "Für Saisonkunden zählen nur die Bestellungen, die ihre Saison im Zeitraum" in html
    assert "0,050 vor, 0,010 nach der Kalibrierung (Skalierung" in html
    row = html.split("Vor der Kalibrierung")[1].split("</thead>")[1].split("</table>")[0]
    assert re.findall(r'class="num">([^<]*)<', row) == ["40", "1,0 %", "5,0 %", "6,0 %"]
    admin.locale = "en"
    db.session.commit()
    html = client.get(f"/admin/backtest?job={job.id}").get_data(as_text=True)
    assert "Which customers come first?" in html and "BG/NBD × Gamma-Gamma" in html
    assert "Mean of the models" in html and "(scaling," in html
    assert "For seasonal customers it counts only the orders their season brings" in html
    # a result stored before the ranking existed still shows
    for key in ("ranking", "future_revenue", "calibration_uncalibrated"):
        result.pop(key)
    result.pop("calibration_error_uncalibrated")
    result["model"] = {"model": "renewal"}
    old = JobRun(kind="backtest", state="done", result=result)
    db.session.add(old)
    db.session.commit()
    assert client.get(f"/admin/backtest?job={old.id}").status_code == 200

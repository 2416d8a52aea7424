"""Analysis → cases: open, no duplicates, settings change the list, recovered, backtest."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from recovery.analysis.backtesting import BacktestResult
from recovery.cases.analysis import run_analysis
from recovery.cases.settings import save_analysis_settings
from recovery.models import Case, JobRun, Order, OrderLine, utcnow
from tests.conftest import csrf_from


def _decliner(build, company, before="1000.00", now="550.00", **fields):
    """Orders every two months; revenue drops from ``before`` to ``now`` per order."""
    customer = build.customer(**fields)
    today = utcnow()
    for month in range(2, 24, 2):
        net = now if month < 12 else before
        build.order(customer, today - timedelta(days=30 * month + 20), net, "Dünger", company)
    return customer


def _steady(build, company, **fields):
    customer = build.customer(**fields)
    today = utcnow()
    for month in range(1, 24, 2):
        build.order(customer, today - timedelta(days=30 * month), "500.00", "Dünger", company)
    return customer


def _open_decline_cases(db):
    return db.session.query(Case).filter_by(kind="decline").filter(Case.closed_at.is_(None))


def test_analysis_opens_decline_cases_once(build, db):
    company = build.company()
    falling = _decliner(build, company, last_name="Fallend")
    _steady(build, company, last_name="Stetig")
    as_of = utcnow()
    first = run_analysis(as_of)
    assert first.opened >= 1
    cases = _open_decline_cases(db).all()
    assert [c.customer_id for c in cases] == [falling.id]
    case = cases[0]
    # Hand-computed, and the same on SQLite and PostgreSQL (the suite runs on both):
    # orders every 60 days; 5 × 550 € in the last 12 months, 6 × 1,000 € in the 12 before.
    assert (case.current_revenue, case.reference_revenue) == (
        Decimal("2750.00"),
        Decimal("6000.00"),
    )
    assert round(case.decline_pct, 2) == 54.17
    assert case.reason_key and "decline" in case.reason_key
    assert case.company_id == company.id
    second = run_analysis(as_of)  # nothing changed: nothing rewritten (test_case_rewrite.py)
    assert (second.opened, second.updated) == (0, 0)
    assert _open_decline_cases(db).count() == 1


def test_the_gross_basis_reads_the_gross_amounts(build, db):
    """The analysis reads the lines' gross amounts only for the amount basis "gross"
    (``load_lines(gross=…)``): with it, the decline case's revenues are the gross ones."""
    company = build.company()
    falling = _decliner(build, company, last_name="Fallend")
    lines = db.session.scalars(
        select(OrderLine).join(Order).where(Order.customer_id == falling.id)
    ).all()
    for line in lines:
        line.gross_amount = (line.net_amount * Decimal("1.19")).quantize(Decimal("0.01"))
    save_analysis_settings({"amount_basis": "gross"}, None)
    db.session.commit()
    run_analysis(utcnow())
    case = _open_decline_cases(db).one()
    # 5 × 654.50 € (550 € net) in the last 12 months, 6 × 1,190 € in the 12 before
    assert (case.current_revenue, case.reference_revenue) == (
        Decimal("3272.50"),
        Decimal("7140.00"),
    )
    save_analysis_settings({"amount_basis": "net"}, None)
    db.session.commit()
    run_analysis(utcnow())
    db.session.expire_all()
    case = _open_decline_cases(db).one()
    assert (case.current_revenue, case.reference_revenue) == (
        Decimal("2750.00"),
        Decimal("6000.00"),
    )


def test_changing_a_setting_and_rerunning_changes_the_list(client, login_as, build, db, run_jobs):
    company = build.company()
    _decliner(build, company, before="1000.00", now="650.00")  # 3,250 vs 6,000: −46 %
    run_analysis()
    assert _open_decline_cases(db).count() == 1
    login_as("admin")
    page = client.get("/admin/analysis").get_data(as_text=True)
    assert "Mindestrückgang" in page or "Minimum decline" in page
    form = {"csrf_token": csrf_from(page)}

    settings_form = page[page.index('class="card settings-form"') :]
    for name, value in re.findall(r'name="([a-z_]+)" value="([^"]*)"', settings_form):
        form[name] = value
    form.update(comparison="previous_period", amount_basis="net", exclude_open_orders="on")
    form["min_decline_pct"] = "50"
    response = client.post("/admin/analysis", data=form)
    assert response.status_code == 302
    client.post("/admin/analysis/run", data={"csrf_token": form["csrf_token"]})
    assert _open_decline_cases(db).count() == 1  # the worker runs it, not the request
    assert run_jobs() == 1
    assert _open_decline_cases(db).count() == 0
    assert db.session.query(Case).filter_by(status="closed").count() == 1


def test_invalid_setting_names_the_field_and_saves_nothing(client, login_as, db):
    login_as("admin")
    page = client.get("/admin/analysis").get_data(as_text=True)
    response = client.post(
        "/admin/analysis",
        data={"csrf_token": csrf_from(page), "min_decline_pct": "viel", "window_months": "12"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "error" in html
    from recovery.models import Setting

    assert db.session.get(Setting, "analysis") is None


def test_customer_who_orders_again_is_recovered_with_revenue(build, db):
    company = build.company()
    customer = _decliner(build, company)
    run_analysis(as_of=utcnow() - timedelta(days=2))
    case = _open_decline_cases(db).one()
    build.order(customer, utcnow() - timedelta(days=1), "777.00", "Saatgut", company)
    result = run_analysis()
    assert result.recovered == 1
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.status == "recovered" and str(case.recovered_revenue) == "777.00"


def test_no_interest_keeps_the_customer_out(build, db):
    company = build.company()
    customer = _decliner(build, company)
    customer.no_interest_until = utcnow() + timedelta(days=100)
    db.session.commit()
    run_analysis()
    assert _open_decline_cases(db).count() == 0


def test_backtest_page_and_sales_refused(client, login_as, build, db, run_jobs):
    company = build.company()
    for _ in range(3):
        _decliner(build, company)
        _steady(build, company)
    for _ in range(2):  # monthly until 290 days ago, then never again: overdue, churned
        stopper = build.customer()
        for step in range(15):
            build.order(stopper, utcnow() - timedelta(days=290 + 30 * step), "300.00")
    login_as("admin")
    page = client.get("/admin/backtest").get_data(as_text=True)
    as_of = (utcnow() - timedelta(days=200)).date().isoformat()
    queued = client.post(
        "/admin/backtest", data={"csrf_token": csrf_from(page), "as_of": as_of, "horizon": "90"}
    )
    assert queued.status_code == 302
    assert "ROC AUC" not in client.get(queued.location).get_data(as_text=True)
    assert run_jobs() == 1
    html = client.get(queued.location).get_data(as_text=True)
    assert "ROC AUC" in html and "Umsatzrückgang" in html
    # a sentence a merchant reads first, with the numbers of the any-flag rule
    job = db.session.scalars(select(JobRun).where(JobRun.kind == "backtest")).one()
    result = BacktestResult.from_dict(job.result)
    flagged = result.rule("any_flag")
    others = result.population - flagged.flagged
    assert flagged.flagged >= 2 and others >= 3
    rate = f"{flagged.precision * 100:.1f}".replace(".", ",")
    rest = f"{(result.churned - flagged.true_positives) / others * 100:.1f}".replace(".", ",")
    lead = re.sub(r"\s+", " ", html[html.index('class="lead"') :].split("</p>")[0])
    lead = lead.replace("\xa0", " ")
    assert f"Von den {flagged.flagged} Kunden, die die Analyse am {result.as_of:%d.%m.%Y}" in lead
    assert f"haben {rate} % bis zum" in lead
    assert f"von den übrigen {others} Kunden {rest} %" in lead
    assert html.index('class="lead"') < html.index("ROC AUC")  # technical table below
    # the business's today (Berlin: from 23:00 UTC in winter already tomorrow's date)
    today = utcnow().astimezone(ZoneInfo("Europe/Berlin")).date()
    too_late = client.post(
        "/admin/backtest",
        data={"csrf_token": csrf_from(page), "as_of": today.isoformat(), "horizon": "90"},
    )
    assert run_jobs() == 1
    refused = client.get(too_late.location).get_data(as_text=True)
    assert f"Die 90 Tage nach dem {today:%d.%m.%Y} enden am " in refused
    assert "Wählen Sie einen früheren Stichtag" in refused
    assert "horizon" not in refused.split('role="alert"')[1].split("</div>")[0]  # no English
    for day, horizon in (("31.02.2024", "90"), (as_of, "9" * 30), (as_of, "1e309")):
        bad = client.post(
            "/admin/backtest",
            data={"csrf_token": csrf_from(page), "as_of": day, "horizon": horizon},
            follow_redirects=True,
        )
        assert bad.status_code == 200
        text = bad.get_data(as_text=True)
        assert "Backtest nicht möglich: " in text and "isoformat" not in text


def test_sales_cannot_open_analysis_admin(client, login_as):
    login_as("sales")
    assert client.get("/admin/analysis").status_code == 403
    assert client.post("/admin/analysis/run").status_code in (400, 403)
    assert client.get("/admin/backtest").status_code == 403

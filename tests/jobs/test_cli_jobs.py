"""``flask recovery analyze`` and ``backtest`` run their job here and now, through the
same job row as the worker: its steps on the terminal, its outcome in Admin → Job runs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from recovery.models import JobRun, utcnow
from tests.app.test_analysis_cases import _decliner, _open_decline_cases


def test_analyze_on_the_command_line_is_a_job_row_with_its_steps(app, build, db):
    _decliner(build, build.company())
    result = app.test_cli_runner().invoke(args=["recovery", "analyze"])
    assert result.exit_code == 0, result.output
    assert "… scoring customers" in result.output
    assert "cases: 1 opened" in result.output
    assert "p_churn from rhythm (calibrator: none)" in result.output
    assert "time split: history" in result.output
    job = db.session.scalars(select(JobRun)).one()
    assert (job.kind, job.state, job.created_by_id) == ("analyze", "done", None)
    assert job.result["opened"] == 1 and job.lease_owner is None
    # the models behind the run and the time split that chose them are kept with it
    assert job.result["model"]["model"] == "rhythm"  # one customer: no model to fit
    assert job.result["model"]["time_split"]["reason"] == "history"
    assert _open_decline_cases(db).count() == 1


def test_backtest_on_the_command_line_prints_the_result_of_its_job(app, build, db):
    company = build.company()
    for _ in range(3):
        _decliner(build, company)
    as_of = (utcnow() - timedelta(days=200)).date().isoformat()
    result = app.test_cli_runner().invoke(
        args=["recovery", "backtest", "--as-of", as_of, "--horizon", "90"]
    )
    assert result.exit_code == 0, result.output
    assert f"As of {as_of}, horizon 90 days" in result.output and "ROC AUC" in result.output
    table = result.output.split("Share held by the top customers")[1]
    for ranking in ("expected_revenue", "revenue_at_risk", "past_revenue", "bgnbd_gg"):
        assert f"\n{ranking} " in table
    assert "Calibration error per decile" in table and "predicted before" in table
    job = db.session.scalars(select(JobRun)).one()
    assert (job.kind, job.state, job.params) == (
        "backtest",
        "done",
        {"as_of": as_of, "horizon": 90},
    )


def test_a_backtest_that_cannot_run_fails_the_command_and_its_job(app, build, db):
    _decliner(build, build.company())
    future = (utcnow() + timedelta(days=30)).date().isoformat()
    result = app.test_cli_runner().invoke(args=["recovery", "backtest", "--as-of", future])
    assert result.exit_code == 1
    job = db.session.scalars(select(JobRun)).one()
    assert job.state == "failed" and job.error in result.output


def test_a_wrong_date_is_refused_before_any_job(app, db):
    result = app.test_cli_runner().invoke(args=["recovery", "analyze", "--as-of", "31.12.2026"])
    assert result.exit_code == 2 and "not a date (YYYY-MM-DD): 31.12.2026" in result.output
    assert db.session.scalars(select(JobRun)).all() == []

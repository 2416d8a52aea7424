"""recovery/jobs: enqueue from the admin pages, the worker runs, the pages show progress
and result; leases hand a dead worker's job to the next; the nightly schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from recovery.cases.jobs import record_due_reminders
from recovery.jobs import enqueue, registry, rows, schedule
from recovery.jobs.worker import JobContext, JobRunner
from recovery.models import Case, CaseEvent, JobRun, utcnow
from tests.app.test_analysis_cases import _decliner, _open_decline_cases
from tests.app.test_sync import csv_connector, german_csv
from tests.concurrency import at_once
from tests.conftest import csrf_from

KINDS = registry.kind_names()


def quiet_runner(worker_id: str = "worker-b") -> JobRunner:
    return JobRunner(worker_id, echo=lambda _line: None)


def test_analysis_from_the_admin_page_runs_in_the_worker_with_progress(
    client, login_as, build, db, run_jobs
):
    _decliner(build, build.company())
    admin = login_as("admin")
    page = client.get("/admin/analysis").get_data(as_text=True)
    response = client.post("/admin/analysis/run", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    job = db.session.scalars(select(JobRun)).one()
    assert (job.kind, job.state, job.created_by_id) == ("analyze", "queued", admin.id)
    page = client.get("/admin/analysis").get_data(as_text=True)
    assert "in die Warteschlange gestellt" in page and "job-progress.js" in page
    assert _open_decline_cases(db).count() == 0  # nothing ran in the request

    # a worker has claimed it and reports a step, as run_analysis does
    claimed = rows.claim("worker-a", KINDS)
    context = JobContext(claimed.id, "analyze", {}, None, "worker-a", claimed.attempts)
    context.step("scoring customers")
    status = client.get(f"/admin/jobs/{job.id}/status").get_json()
    assert status == {"state": "running", "active": True, "text": "Kunden bewerten",
                      "done": 0, "total": None}  # fmt: skip
    assert "Kunden bewerten" in client.get("/admin/analysis").get_data(as_text=True)

    rows.put_back(job.id, "worker-a", 0, "queued")  # let the test's worker run it
    assert run_jobs() == 1
    assert _open_decline_cases(db).count() == 1
    page = client.get("/admin/analysis").get_data(as_text=True)
    assert "1 eröffnet" in page and "job-progress.js" not in page
    assert client.get(f"/admin/jobs/{job.id}/status").get_json()["active"] is False


def test_backtest_shows_its_progress_and_then_the_same_result(
    client, login_as, build, db, run_jobs
):
    company = build.company()
    for _ in range(3):
        _decliner(build, company)
    login_as("admin")
    page = client.get("/admin/backtest").get_data(as_text=True)
    as_of = (utcnow() - timedelta(days=200)).date().isoformat()
    form = {"csrf_token": csrf_from(page), "as_of": as_of, "horizon": "90"}
    url = client.post("/admin/backtest", data=form).location
    waiting = client.get(url).get_data(as_text=True)
    assert "job-progress" in waiting and "wartet" in waiting and as_of in waiting
    assert run_jobs() == 1
    job = db.session.scalars(select(JobRun)).one()
    assert job.state == "done" and job.params == {"as_of": as_of, "horizon": 90}
    shown = client.get(url).get_data(as_text=True)
    assert "ROC AUC" in shown and "job-progress" not in shown

    from recovery.analysis.backtesting import BacktestResult
    from recovery.cases.analysis import as_of_end, run_backtest

    direct = run_backtest(as_of_end(datetime.fromisoformat(as_of).date()), 90)
    assert BacktestResult.from_dict(job.result).to_dict() == direct.to_dict()


def test_sync_from_the_admin_page_shows_the_workers_progress(
    client, login_as, db, tmp_path, run_jobs
):
    cfg = csv_connector(db, german_csv(tmp_path / "export.csv"))
    login_as("admin")
    detail = f"/admin/connectors/{cfg.id}"
    token = csrf_from(client.get(detail).get_data(as_text=True))
    client.post(f"{detail}/sync", data={"csrf_token": token})
    assert client.get(f"{detail}/status").get_json()["job"]["state"] == "queued"
    assert run_jobs() == 1
    job = client.get(f"{detail}/status").get_json()["job"]
    assert job["state"] == "done" and (job["done"], job["total"]) == (6, 6)
    assert "Kunden 3 · Bestellungen 3" in client.get(detail).get_data(as_text=True)


def test_a_killed_workers_job_is_taken_over_after_its_lease_never_twice_at_once(db, build):
    _decliner(build, build.company())
    job_id = enqueue("analyze").id
    db.session.commit()
    t0 = utcnow()
    first = rows.claim("worker-a", KINDS, now=t0)  # worker A claims it … and is killed
    assert first.id == job_id and first.lease_owner == "worker-a" and first.attempts == 1
    lease = registry.kind("analyze").lease
    assert rows.claim("worker-b", KINDS, now=t0 + lease - timedelta(seconds=1)) is None
    second = rows.claim("worker-b", KINDS, now=t0 + lease + timedelta(seconds=1))
    assert second.id == job_id and second.lease_owner == "worker-b" and second.attempts == 2
    quiet_runner("worker-b").run_claimed(second)
    assert rows.finish(job_id, "worker-a", {"late": True}) is False  # A's late word is void
    job = db.session.get(JobRun, job_id, populate_existing=True)
    assert job.state == "done" and "late" not in job.result and job.result["opened"] == 1
    assert job.lease_owner is None and _open_decline_cases(db).count() == 1


def test_a_job_abandoned_as_often_as_it_may_be_fails_for_good(db):
    job_id = enqueue("backtest", {"as_of": "2026-01-01"}).id
    db.session.commit()
    now, lease = utcnow(), registry.kind("backtest").lease
    for attempt in range(registry.kind("backtest").max_attempts):
        assert rows.claim(f"worker-{attempt}", KINDS, now=now).id == job_id
        now += lease + timedelta(seconds=1)
    assert rows.claim("worker-last", KINDS, now=now) is None
    job = db.session.get(JobRun, job_id, populate_existing=True)
    assert job.state == "failed" and "2 times" in job.error


def test_two_claimers_on_postgresql_never_get_the_same_job(app, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no row locks: run one worker per SQLite database")
    ids = {enqueue("backtest", {"as_of": "2026-01-01"}).id for _ in range(40)}
    db.session.commit()

    def claim(i: int) -> list[int]:
        mine = []
        while (job := rows.claim(f"w{i}", KINDS)) is not None:
            mine.append(job.id)
        return mine

    claimed = at_once(app, claim, 4)
    every = [job_id for mine in claimed for job_id in mine]
    assert sorted(every) == sorted(ids), "a job was claimed twice or not at all"
    assert sum(1 for mine in claimed if mine) > 1, "one claimer took them all"


def test_nightly_schedule_enqueues_syncs_then_the_analysis_once(app, db, tmp_path, run_jobs):
    csv_connector(db, german_csv(tmp_path / "export.csv"))
    schedule.save_worker_settings({"nightly_enabled": True, "nightly_hour": 3}, None)
    db.session.commit()
    settings = schedule.worker_settings()
    # 01:30 UTC is 02:30 in Berlin in winter: not yet; 02:30 UTC is 03:30: due.
    assert schedule.night_due(datetime(2026, 1, 10, 1, 30, tzinfo=UTC), settings) is None
    night = schedule.night_due(datetime(2026, 1, 10, 2, 30, tzinfo=UTC), settings)
    assert night.isoformat() == "2026-01-10"
    nightly = schedule.claim_night(night)
    assert nightly is not None and schedule.claim_night(night) is None
    sync_id, analysis_id = nightly.result["sync_jobs"][0], nightly.result["analysis_job"]

    # the analysis waits for the night's syncs
    waiting = rows.claim("worker-a", ["analyze"])
    quiet_runner("worker-a").run_claimed(waiting)
    job = db.session.get(JobRun, analysis_id, populate_existing=True)
    assert (job.state, job.message, job.attempts) == ("queued", "waiting for the syncs", 0)
    assert job.run_after > utcnow()
    job.run_after = None  # as when its minute has passed
    db.session.commit()

    assert run_jobs() == 2
    sync, analysis = (db.session.get(JobRun, i) for i in (sync_id, analysis_id))
    assert sync.state == "done" and analysis.state == "done", analysis.error
    assert analysis.finished_at >= sync.finished_at and analysis.result["customers"] == 3
    assert db.session.query(JobRun).filter_by(kind="nightly").count() == 1


def test_two_workers_claim_a_night_once(app, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no concurrent writers: run one worker per SQLite database")
    night = datetime(2026, 2, 1).date()

    def claim(_i: int) -> int | None:
        job = schedule.claim_night(night)
        return job.id if job else None

    claimed = at_once(app, claim, 4)
    assert not [c for c in claimed if isinstance(c, BaseException)], claimed
    assert len([c for c in claimed if c]) == 1
    assert db.session.query(JobRun).filter_by(kind="nightly").count() == 1
    assert db.session.query(JobRun).filter_by(kind="analyze").count() == 1


def test_due_reminder_is_noted_once_in_the_history(app, db, build):
    now = utcnow()
    due = build.case(build.customer(), status="reminder", remind_at=now - timedelta(hours=1))
    later = build.case(build.customer(), status="reminder", remind_at=now + timedelta(days=2))
    assert record_due_reminders(now) == 1
    assert record_due_reminders(now) == 0
    events = db.session.query(CaseEvent).filter_by(kind="reminder_due").all()
    assert [e.case_id for e in events] == [due.id]
    # A new reminder on the same case is noted again when it falls due.
    due = db.session.get(Case, due.id)
    due.remind_at = now + timedelta(days=1)
    db.session.commit()
    assert record_due_reminders(now + timedelta(days=1, minutes=1)) == 1
    assert later.id not in {e.case_id for e in db.session.query(CaseEvent).all()}

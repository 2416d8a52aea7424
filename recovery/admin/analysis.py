"""Admin pages for the analysis: settings with hover help, run now, backtest (A6, A7).

"Run analysis now" and "Run backtest" enqueue a job for the worker (recovery/jobs/);
the pages show its progress (static/js/job-progress.js polls ``job_status``) and then
its result from the job row.
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..analysis import AnalysisSettings, SettingsError
from ..cases.settings import analysis_settings, save_analysis_settings
from ..extensions import db
from ..jobs import ACTIVE, enqueue, latest
from ..models import JobRun, ProductGroup
from ..security import admin_required, int_arg
from ..ui import job_label
from . import bp
from .forms import ConfirmForm

# Edited elsewhere: group intervals live on the product groups (table below the form);
# the reasons are rendered in each reader's own language.
HIDDEN = {"group_default_intervals", "locale"}


def _fields(locale: str):
    return [f for f in AnalysisSettings.fields() if f.name not in HIDDEN]


def _form_value(info, raw: str | None):
    if info.type == "bool":
        return raw is not None
    if info.type == "list":
        return [part.strip() for part in (raw or "").split(",") if part.strip()]
    return raw


@bp.route("/analysis", methods=["GET", "POST"])
@admin_required
def analysis_settings_page():
    settings = analysis_settings()
    errors: dict[str, str] = {}
    form = ConfirmForm()
    groups = db.session.scalars(select(ProductGroup).order_by(ProductGroup.name)).all()
    locale = current_user.locale
    if request.method == "POST" and form.validate_on_submit():
        values = settings.to_dict()
        for info in _fields(locale):
            values[info.name] = _form_value(info, request.form.get(info.name))
        intervals: dict[int, int | None] = {}
        for group in groups:
            raw = (request.form.get(f"interval_{group.id}") or "").strip()
            if raw and (not raw.isdigit() or not 1 <= int(raw) <= 3650):
                errors[f"interval_{group.id}"] = _("a whole number of days from 1 to 3650")
            intervals[group.id] = int(raw) if raw.isdigit() else None
        try:
            save_analysis_settings(values, current_user.id)
        except SettingsError as exc:
            errors.update(exc.errors)
        if errors:
            db.session.rollback()
            flash(_("Nothing was saved; please correct the marked fields."), "error")
        else:
            for group in groups:
                group.default_interval_days = intervals[group.id]
            db.session.commit()
            flash(_("Settings saved. Run the analysis to apply them."), "success")
            return redirect(url_for("admin.analysis_settings_page"))
    current = {**settings.to_dict(), **{k: request.form.get(k) for k in errors}}
    return render_template(
        "admin/analysis.html",
        fields=_fields(locale),
        values=current,
        errors=errors,
        groups=groups,
        form=form,
        locale=locale,
        last_runs=latest("analyze"),
    )


@bp.post("/analysis/run")
@admin_required
def analysis_run():
    if ConfirmForm().validate_on_submit():
        enqueue("analyze", user_id=current_user.id)
        db.session.commit()
        flash(_("The analysis is queued; its progress is shown below."), "info")
    return redirect(url_for("admin.analysis_settings_page"))


@bp.route("/backtest", methods=["GET", "POST"])
@admin_required
def backtest_page():
    form = ConfirmForm()
    job = _backtest_job(int_arg("job"))
    params = job.params if job else {}
    as_of_text = request.form.get("as_of") or params.get("as_of") or ""
    horizon_text = request.form.get("horizon") or str(
        params.get("horizon") or analysis_settings().horizon_days
    )
    if request.method == "POST" and form.validate_on_submit():
        as_of, horizon = _day(as_of_text), _whole_number(horizon_text)
        if as_of is None:
            flash(_("Backtest not possible: %(reason)s", reason=_("As of: not a date")), "error")
        elif horizon is None or not 7 <= horizon <= 1095:
            reason = _("horizon: a number of days from 7 to 1095")
            flash(_("Backtest not possible: %(reason)s", reason=reason), "error")
        else:
            job = enqueue(
                "backtest", {"as_of": as_of.isoformat(), "horizon": horizon}, current_user.id
            )
            db.session.commit()
            return redirect(url_for("admin.backtest_page", job=job.id))
    result = None
    if job is not None and job.state == "done":
        from ..analysis import BacktestResult  # pandas loads on first use, not at start-up

        result = BacktestResult.from_dict(job.result)
    return render_template(
        "admin/backtest.html",
        form=form,
        job=job,
        result=result,
        refusal=_refusal(job),
        as_of=as_of_text,
        horizon=horizon_text,
    )


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _whole_number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 7 else None


def _refusal(job: JobRun | None) -> dict | None:
    """Why the history could not answer a failed backtest, its dates as dates."""
    if job is None or job.state != "failed" or not (job.result or {}).get("refused"):
        return None
    facts = dict(job.result)
    for key in ("as_of", "horizon_end", "data_end"):
        if facts.get(key):
            facts[key] = date.fromisoformat(facts[key])
    return facts


def _backtest_job(job_id: int | None) -> JobRun | None:
    if job_id is None:
        return None
    job = db.session.get(JobRun, job_id)
    if job is None or job.kind != "backtest":
        abort(404)
    return job


@bp.get("/jobs/<int:job_id>/status")
@admin_required
def job_status(job_id: int):
    """What a page polls while a job runs (static/js/job-progress.js)."""
    job = db.session.get(JobRun, job_id) or abort(404)
    return jsonify(
        state=job.state,
        active=job.state in ACTIVE,
        text=job_label(job.message or job.state),
        done=job.progress_done,
        total=job.progress_total,
    )

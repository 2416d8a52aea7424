"""Admin pages for the analysis: settings with hover help, run now, backtest (A6, A7)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..analysis import AnalysisSettings, SettingsError
from ..cases.settings import analysis_settings, save_analysis_settings
from ..extensions import db
from ..models import JobRun, ProductGroup
from ..security import admin_required
from .forms import ConfirmForm
from .routes import bp

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
        last_runs=db.session.scalars(
            select(JobRun).where(JobRun.kind == "analyze").order_by(JobRun.id.desc()).limit(5)
        ).all(),
    )


@bp.post("/analysis/run")
@admin_required
def analysis_run():
    if ConfirmForm().validate_on_submit():
        from ..cases import run_analysis  # pandas loads on first use, not at start-up

        result = run_analysis(user_id=current_user.id)
        flash(
            _(
                "%(customers)s customers scored; %(opened)s cases opened, %(updated)s updated, "
                "%(closed)s closed, %(recovered)s recovered.",
                customers=result.customers,
                opened=result.opened,
                updated=result.updated,
                closed=result.closed,
                recovered=result.recovered,
            ),
            "success",
        )
    return redirect(url_for("admin.analysis_settings_page"))


@bp.route("/backtest", methods=["GET", "POST"])
@admin_required
def backtest_page():
    form = ConfirmForm()
    result = None
    as_of_text = request.form.get("as_of") or ""
    horizon_text = request.form.get("horizon") or str(analysis_settings().horizon_days)
    if request.method == "POST" and form.validate_on_submit():
        try:
            as_of = date.fromisoformat(as_of_text)
            horizon = int(horizon_text)
            if not 7 <= horizon <= 1095:
                raise ValueError(_("horizon: a number of days from 7 to 1095"))
            from ..cases import run_backtest

            result = run_backtest(datetime.combine(as_of, time(23, 59, 59), UTC), horizon)
        except ValueError as exc:
            flash(_("Backtest not possible: %(reason)s", reason=str(exc)), "error")
    return render_template(
        "admin/backtest.html", form=form, result=result, as_of=as_of_text, horizon=horizon_text
    )

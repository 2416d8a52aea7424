"""Admin → Connectors: settings, connection test, sync jobs and log, file uploads (D2–D6)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from wawi_connectors import ConfigurationError, connector_kinds, get_connector_class

from ..extensions import db
from ..models import ConnectorConfig, Customer, JobRun, SyncRun
from ..security import admin_required, int_arg
from ..sources import SourceError
from ..sources.configs import (
    EXAMPLE_VALUES,
    FORM_ERROR,
    URL_FIELDS,
    SettingsInvalid,
    form_fields,
    save_connector,
    say,
    test_connection,
    url_example,
)
from ..sources.jobs import (
    SyncRunning,
    active_job,
    file_in_use,
    latest_job,
    run_of,
    start_sync,
)
from ..sources.sync import LOOKBACK_DAYS
from ..sources.texts import said
from ..sources.upload import (
    FIELD_LABELS,
    REQUIRED_FIELDS,
    MappingInvalid,
    find_upload,
    propose,
    save_upload,
    start_import,
)
from ..ui import LINK_LABELS, job_label, stream_rows
from . import bp

LOG_PAGE = 20
UNKNOWN_COUNTRIES_SHOWN = 20


def _connector(cid: int) -> ConnectorConfig:
    cfg = db.session.get(ConnectorConfig, cid)
    if cfg is None:
        abort(404)
    return cfg


def _kind_label(kind: str) -> str:
    try:
        return say(get_connector_class(kind).label)
    except ConfigurationError:
        return kind


@bp.get("/connectors")
@admin_required
def connectors():
    configs = db.session.scalars(
        select(ConnectorConfig).order_by(
            func.lower(func.coalesce(ConnectorConfig.label, ConnectorConfig.name))
        )
    ).all()
    latest = (
        select(SyncRun.connector_id, func.max(SyncRun.id).label("id"))
        .group_by(SyncRun.connector_id)
        .subquery()
    )
    runs = {
        r.connector_id: r
        for r in db.session.scalars(select(SyncRun).join(latest, SyncRun.id == latest.c.id))
    }
    return render_template(
        "admin/connectors/list.html",
        configs=configs,
        runs=runs,
        active={c.id: active_job(c.id) for c in configs},
        kinds=[(kind, say(cls.label)) for kind, cls in connector_kinds().items()],
        kind_label=_kind_label,
    )


def _placeholders(field: str) -> str:
    return ", ".join("{" + name + "}" for name in URL_FIELDS[field])


def _settings_page(cfg: ConnectorConfig | None, kind: str):
    errors: dict[str, str] = {}
    submitted = None
    if request.method == "POST":
        try:
            cfg = save_connector(cfg, kind, request.form)
        except SettingsInvalid as exc:
            errors, submitted = exc.errors, request.form
            flash(_("Nothing was saved; please correct the marked fields."), "error")
        else:
            flash(_("Connector %(name)s saved.", name=cfg.title), "success")
            return redirect(url_for("admin.connector_detail", cid=cfg.id))
    values = submitted or {
        "name": "",
        "enabled": "on" if cfg is None or cfg.enabled else "",
        "lookback_days": str(cfg.lookback_days if cfg else LOOKBACK_DAYS),
        **{f: (getattr(cfg, f) or "") if cfg else "" for f in URL_FIELDS},
    }
    return render_template(
        "admin/connectors/form.html",
        cfg=cfg,
        kind=kind,
        kind_label=_kind_label(kind),
        fields=form_fields(kind, cfg, submitted),
        values=values,
        errors=errors,
        form_error=errors.get(FORM_ERROR),
        url_fields=[(f, LINK_LABELS[f], _placeholders(f)) for f in URL_FIELDS],
        url_example=url_example,
        url_examples=EXAMPLE_VALUES,
        file_kind=kind == "csv",
    ), (200 if not errors else 422)


@bp.route("/connectors/new", methods=["GET", "POST"])
@admin_required
def connector_new():
    kind = request.values.get("kind", "")
    if kind not in connector_kinds():
        flash(_("Please choose the type of the new connector."), "error")
        return redirect(url_for("admin.connectors"))
    return _settings_page(None, kind)


@bp.route("/connectors/<int:cid>/edit", methods=["GET", "POST"])
@admin_required
def connector_edit(cid: int):
    cfg = _connector(cid)
    return _settings_page(cfg, cfg.kind)


@bp.get("/connectors/<int:cid>")
@admin_required
def connector_detail(cid: int):
    cfg = _connector(cid)
    page = max(int_arg("page", 1), 1)
    runs_query = select(SyncRun).where(SyncRun.connector_id == cid)
    total = db.session.scalar(runs_query.with_only_columns(func.count(SyncRun.id)))
    runs = db.session.scalars(
        runs_query.order_by(SyncRun.id.desc()).limit(LOG_PAGE).offset((page - 1) * LOG_PAGE)
    ).all()
    job = active_job(cid) or latest_job(cid)
    current_file, imported_at = file_in_use(cfg)
    return render_template(
        "admin/connectors/detail.html",
        cfg=cfg,
        kind_label=_kind_label(cfg.kind),
        fields=form_fields(cfg.kind, cfg),
        job=job,
        current_file=current_file,
        imported_at=imported_at,
        runs=runs,
        page=page,
        pages=max((total + LOG_PAGE - 1) // LOG_PAGE, 1),
        url_fields=[(f, LINK_LABELS[f], getattr(cfg, f)) for f in URL_FIELDS],
        url_example=url_example,
        file_kind=cfg.kind == "csv",
        max_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
        mapping_link=_mapping_link(cfg, job),
        unknown_countries=_unknown_countries(cfg),
    )


def _unknown_countries(cfg: ConnectorConfig) -> tuple[int, list[tuple[str, int]], bool]:
    """How many of the source's customers have a country value that names no country we
    recognise, the most frequent such values with their counts, and whether there are
    more values than those."""
    counted = func.count(Customer.id)
    rows = db.session.execute(
        select(Customer.country_raw, counted)
        .where(Customer.source == cfg.name, Customer.country_raw.is_not(None))
        .group_by(Customer.country_raw)
        .order_by(counted.desc(), Customer.country_raw)
    ).all()
    shown = [(raw, n) for raw, n in rows[:UNKNOWN_COUNTRIES_SHOWN]]
    return sum(n for _, n in rows), shown, len(rows) > len(shown)


def _mapping_link(cfg: ConnectorConfig, job: JobRun | None) -> str | None:
    """Back to the mapping of a refused upload, while its file is still there."""
    token = (job.params or {}).get("upload") if job and job.state == "failed" else None
    if not token:
        return None
    try:
        find_upload(cfg, token)
    except SourceError:
        return None
    return url_for("admin.connector_mapping", cid=cfg.id, token=token)


@bp.get("/connectors/<int:cid>/status")
@admin_required
def connector_status(cid: int):
    """What the page polls while a sync runs: the job's progress and its run's rows."""
    _connector(cid)
    job = active_job(cid) or latest_job(cid)
    run = run_of(job)
    return jsonify(
        job=_job_json(job),
        run=None
        if run is None
        else {"state": run.state, "rows": run.rows, "text": stream_rows(run.rows)},
    )


def _job_json(job: JobRun | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return {
        "id": job.id,
        "state": job.state,
        "state_label": job_label(job.state),
        "done": job.progress_done,
        "total": job.progress_total,
        "rows": stream_rows((job.result or {}).get("rows")),
        "active": job.state in ("queued", "running"),
    }


@bp.post("/connectors/<int:cid>/test")
@admin_required
def connector_test(cid: int):
    cfg = _connector(cid)
    try:
        text = test_connection(cfg)
    except SourceError as exc:
        flash(said(exc), "error")
    else:
        flash(_("Connection works: %(text)s", text=text), "success")
    return redirect(url_for("admin.connector_detail", cid=cid))


@bp.post("/connectors/<int:cid>/sync")
@admin_required
def connector_sync(cid: int):
    cfg = _connector(cid)
    full = request.form.get("full") == "1"
    if cfg.kind == "csv" and not (cfg.settings or {}).get("path"):
        flash(_("No file yet: upload one first."), "error")
        return redirect(url_for("admin.connector_detail", cid=cid))
    try:
        start_sync(cfg, full=full, user_id=current_user.id)
    except SourceError as exc:
        flash(said(exc) if not isinstance(exc, SyncRunning) else _running_message(), "error")
    else:
        _flash_started()
    return redirect(url_for("admin.connector_detail", cid=cid))


def _running_message() -> str:
    return _("A sync of this connector is already running; wait until it has finished.")


def _flash_started() -> None:
    flash(_("Sync started; its progress is shown below."), "info")


@bp.post("/connectors/<int:cid>/upload")
@admin_required
def connector_upload(cid: int):
    cfg = _connector(cid)
    if cfg.kind != "csv":
        abort(404)
    try:
        upload = save_upload(cfg, request.files.get("file"))
    except SourceError as exc:
        flash(said(exc), "error")
        return redirect(url_for("admin.connector_detail", cid=cid))
    return redirect(url_for("admin.connector_mapping", cid=cid, token=upload.token))


@bp.route("/connectors/<int:cid>/upload/<token>", methods=["GET", "POST"])
@admin_required
def connector_mapping(cid: int, token: str):
    cfg = _connector(cid)
    try:
        upload = find_upload(cfg, token)
        proposal = propose(upload)
    except SourceError as exc:
        flash(said(exc), "error")
        return redirect(url_for("admin.connector_detail", cid=cid))
    errors: dict[str, str] = {}
    mapping = proposal.mapping
    if request.method == "POST":
        chosen = {t: request.form.get(f"map_{t}", "") for t in FIELD_LABELS}
        try:
            cp1252_rows = request.form.get("cp1252_rows") == "1"
            start_import(cfg, upload, chosen, current_user.id, cp1252_rows)
        except MappingInvalid as exc:
            errors, mapping = exc.errors, {t: h for t, h in chosen.items() if h}
            flash(_("Nothing was imported; please correct the marked fields."), "error")
        except SyncRunning:
            flash(_running_message(), "error")
        except SourceError as exc:
            flash(said(exc), "error")
        else:
            _flash_started()
            return redirect(url_for("admin.connector_detail", cid=cid))
    return render_template(
        "admin/connectors/mapping.html",
        cfg=cfg,
        upload=upload,
        proposal=proposal,
        mapping=mapping,
        errors=errors,
        fields=list(FIELD_LABELS.items()),
        required=set(REQUIRED_FIELDS),
    ), (200 if not errors else 422)


@bp.errorhandler(413)
def too_large(error):
    limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    flash(_("The file is larger than the limit of %(mb)s MB.", mb=limit), "error")
    cid = (request.view_args or {}).get("cid")
    if cid:
        return redirect(url_for("admin.connector_detail", cid=cid))
    return redirect(url_for("admin.connectors"))

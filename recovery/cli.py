"""``flask recovery …`` commands: users, demo, sync, analysis (S2).

The worker's command is in ``jobs/cli.py``, the messaging commands in ``messaging/cli.py``.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select, text

from .cli_group import group
from .extensions import db


def _day(value: str) -> str:
    """A date given on the command line, checked (YYYY-MM-DD)."""
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"not a date (YYYY-MM-DD): {value}") from None


def _run_job(kind: str, params: dict):
    """Run a job of ``kind`` here and now, telling its steps; its row is kept as the
    worker's are (Admin → Job runs). A failed job ends the command with its error."""
    from .jobs import run_here

    job = run_here(kind, params, echo=lambda step: click.echo(f"… {step}"))
    if job.state != "done":
        raise click.ClickException(job.error or job.state)
    return job


@group.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", default="Admin", show_default=True)
@click.password_option()
def create_admin(email: str, name: str, password: str) -> None:
    """Create an admin user."""
    _create_user(email, name, password, "admin")


@group.command("create-user")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.option("--role", type=click.Choice(["admin", "sales"]), default="sales", show_default=True)
@click.password_option()
def create_user(email: str, name: str, role: str, password: str) -> None:
    """Create a user with a role."""
    _create_user(email, name, password, role)


def _create_user(email: str, name: str, password: str, role: str) -> None:
    from .accounts import create_user as create

    try:
        user = create(email, name, password, role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.role} {user.email}")


@group.command("demo")
@click.option("--reset/--keep", default=True, help="Start from an empty database.")
@click.option("--seed", default=42, show_default=True)
@click.option("--customers", default=2400, show_default=True)
def demo(reset: bool, seed: int, customers: int) -> None:
    """Load the demo business: generate its WaWi export, import it as CSV, analyse."""
    from flask_migrate import upgrade

    from .demo_setup import load_demo

    instance_path()  # the SQLite file of a fresh clone lives there
    if reset:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(directory=str(Path(current_app.root_path).parent / "migrations"))
    summary = load_demo(seed=seed, customers=customers, echo=click.echo)
    click.echo("")
    click.echo(summary)


@group.command("analyze")
@click.option("--as-of", "as_of", help="Analyse as of this date (YYYY-MM-DD); default now.")
def analyze(as_of: str | None) -> None:
    """Score all customers and open, update or close cases (a job run here, at once)."""
    job = _run_job("analyze", {"as_of": _day(as_of)} if as_of else {})
    r = job.result
    click.echo(
        f"{r['customers']} customers scored, {r['flagged']} with revenue decline; "
        f"cases: {r['opened']} opened, {r['updated']} updated, {r['closed']} closed, "
        f"{r['recovered']} recovered"
    )
    model = r.get("model") or {}
    split = model.get("time_split") or {}
    calibrator = (split.get("calibrator") or {}).get("kind") if model.get("calibrated") else None
    click.echo(
        f"p_churn from {model.get('model')} (calibrator: {calibrator or 'none'}), expected revenue "
        f"from {model.get('revenue_model') or '-'}; time split: "
        f"{split.get('reason') or 'used'}"
    )


@group.command("backtest")
@click.option("--as-of", "as_of", required=True, help="The past date to score as of (YYYY-MM-DD).")
@click.option("--horizon", type=click.IntRange(7, 1095), help="Days to look ahead.")
def backtest_command(as_of: str, horizon: int | None) -> None:
    """Score as of a past date and compare with what happened afterwards (a job run here)."""
    from .analysis import BacktestResult

    job = _run_job("backtest", {"as_of": _day(as_of), "horizon": horizon})
    r = BacktestResult.from_dict(job.result)
    click.echo(
        f"As of {r.as_of}, horizon {r.horizon_days} days (to {r.horizon_end}): "
        f"{r.churned} of {r.population} active customers did not order again "
        f"(base rate {r.base_rate:.1%})."
    )
    click.echo(f"{'rule':<12}{'flagged':>9}{'precision':>11}{'recall':>9}")
    for rule in r.rules:
        click.echo(f"{rule.rule:<12}{rule.flagged:>9}{rule.precision:>11.1%}{rule.recall:>9.1%}")
    click.echo(
        f"ROC AUC p_churn {r.auc_p_churn:.3f} ({r.model.get('model')}) vs days since last "
        f"order {r.auc_days_since_last_order:.3f} (plain BG/NBD {r.auc_bgnbd:.3f}); "
        f"top 20% by revenue at risk hold {r.top_lost_revenue_share:.1%} of the lost revenue; "
        f"mean predicted churn {r.mean_p_churn:.1%} vs observed {r.base_rate:.1%}"
    )
    click.echo(
        f"Share held by the top customers of each ranking (future revenue "
        f"{r.future_revenue:,.2f}, lost revenue {r.lost_revenue:,.2f}; revenue model "
        f"{r.model.get('revenue_model')}):"
    )
    heads = ("future 10%", "future 20%", "lost 10%", "lost 20%")
    click.echo(f"{'ranking':<18}" + "".join(f"{h:>11}" for h in heads))
    for m in r.ranking:
        click.echo(
            f"{m.ranking:<18}{m.top10_future:>11.1%}{m.top20_future:>11.1%}"
            f"{m.top10_lost:>11.1%}{m.top20_lost:>11.1%}"
        )
    split = r.model.get("time_split") or {}
    calibrator = (split.get("calibrator") or {}).get("kind") if r.model.get("calibrated") else None
    click.echo(
        f"Calibration error per decile {r.calibration_error_uncalibrated:.3f} before, "
        f"{r.calibration_error:.3f} after the calibration (calibrator: {calibrator or 'none'})"
    )
    click.echo(f"{'predicted before':>17}{'after':>8}{'observed':>10}")
    for before, after in zip(r.calibration_uncalibrated, r.calibration, strict=True):
        click.echo(f"{before.predicted:>17.1%}{after.predicted:>8.1%}{after.observed:>10.1%}")


@group.command("sync")
@click.option("--connector", "name", help="Only this connector (its name).")
@click.option("--full", is_flag=True, help="Read everything again, not only changes.")
def sync(name: str | None, full: bool) -> None:
    """Read customers and orders from the configured sources."""
    from .models import ConnectorConfig
    from .sources.sync import SyncFailed, run_sync

    stmt = select(ConnectorConfig).where(ConnectorConfig.enabled.is_(True))
    if name:
        stmt = select(ConnectorConfig).where(ConnectorConfig.name == name)
    connectors = db.session.scalars(stmt).all()
    if not connectors:
        raise click.ClickException(f"no connector named {name!r}" if name else "no connectors")
    failed = False
    for cfg in connectors:
        click.echo(f"{cfg.name} ({cfg.kind}){' – full' if full else ''}")
        with click.progressbar(length=0, label="  rows", show_pos=True) as bar:

            def progress(stream: str, rows: int, bar=bar) -> None:
                bar.label = f"  {stream}"
                bar.pos = rows
                bar.render_progress()

            try:
                result = run_sync(cfg, full=full, progress=progress)
            except SyncFailed as exc:
                failed = True
                click.echo(f"\n  failed: {exc}", err=True)
                continue
        rows = ", ".join(f"{k}: {v}" for k, v in result.rows.items())
        click.echo(f"  done – {rows}")
    if failed:
        sys.exit(1)


@group.command("group-facts")
@click.option("--full", is_flag=True, help="Rebuild the facts of every customer.")
def group_facts(full: bool) -> None:
    """Bring the group rules' kept order facts up to date (every evaluation does this
    for what changed; --full after orders were changed outside the app)."""
    from .audience.facts import refresh_order_facts

    refreshed = refresh_order_facts(full=full)
    db.session.commit()
    who = "all" if refreshed.customers is None else refreshed.customers
    click.echo(f"order facts refreshed: {who} customers")


def instance_path() -> Path:
    path = Path(current_app.instance_path)
    path.mkdir(parents=True, exist_ok=True)
    return path

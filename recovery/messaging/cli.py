"""``flask recovery worker`` and the messaging commands (PRODUCT.md S2, M7)."""

from __future__ import annotations

import click
from flask import current_app
from sqlalchemy import func, select

from ..cli import group
from ..extensions import db
from ..models import Message


@group.command("worker")
@click.option("--once", is_flag=True, help="Send what is due, run the scheduled work once, stop.")
@click.option(
    "--batch", type=click.IntRange(1, 50), help="Emails per Mailjet call (default 50, at most 50)."
)
@click.option(
    "--rate", type=click.FloatRange(min=0.1), help="Mailjet calls per second (default 50)."
)
@click.option("--lease", type=click.FloatRange(min=1), help="Seconds a claimed batch is ours.")
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    help="Seconds to wait for a lost message to show up at Mailjet before sending it again.",
)
@click.option("--idle", type=click.FloatRange(min=0), help="Seconds to sleep when nothing is due.")
def worker(
    once: bool,
    batch: int | None,
    rate: float | None,
    lease: float | None,
    grace: float | None,
    idle: float | None,
) -> None:
    """Send queued messages and run the scheduled work (reminders, webhook retries, nightly)."""
    from .outbox import offline
    from .worker import Worker

    runner = Worker(current_app._get_current_object(), echo=click.echo).with_options(
        batch_size=batch,
        rate=rate,
        lease_seconds=lease,
        lookup_grace_seconds=grace,
        idle_seconds=idle,
    )
    runner.install_signal_handlers()
    mode = "offline: due messages go to the outbox" if offline() else "sending through Mailjet"
    click.echo(f"worker {runner.worker_id} started ({mode})")
    stats = runner.run(once=once)
    click.echo(f"worker {runner.worker_id} stopped: {stats.summary()}")


@group.command("messages")
def messages() -> None:
    """Count the stored messages by state."""
    rows = db.session.execute(
        select(Message.state, func.count(Message.id))
        .group_by(Message.state)
        .order_by(Message.state)
    ).all()
    for state, count in rows:
        click.echo(f"{state:10} {count}")
    if not rows:
        click.echo("no messages")

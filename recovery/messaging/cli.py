"""The messaging commands, and the sending options of ``flask recovery worker`` (S2, M7)."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from ..cli_group import group
from ..extensions import db
from ..jobs.cli import worker
from ..models import Message

SENDING_OPTIONS = (
    click.option(
        "--batch",
        type=click.IntRange(1, 50),
        help="Emails per Mailjet call (default 50, at most 50).",
    ),
    click.option(
        "--claim",
        type=click.IntRange(min=1),
        help="Messages claimed and checked at once, then sent in calls of --batch (default 500).",
    ),
    click.option(
        "--rate",
        type=click.FloatRange(min=0.1),
        help="Mailjet calls per second, the account's limit for all workers (default 50).",
    ),
    click.option("--lease", type=click.FloatRange(min=1), help="Seconds a claimed batch is ours."),
    click.option(
        "--grace",
        type=click.FloatRange(min=0),
        help="Seconds to wait for a lost message to show up at Mailjet before sending it again.",
    ),
    click.option(
        "--idle", type=click.FloatRange(min=0), help="Seconds to sleep when nothing is due."
    ),
)
for option in SENDING_OPTIONS:
    option(worker)  # handed to the sending loop (messaging/jobs.py)


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

"""``flask recovery worker``: one process for all background work (recovery/jobs/worker.py).

Domains add the options of their loops to this command (``messaging/cli.py``).
"""

from __future__ import annotations

import click
from flask import current_app

from ..cli_group import group
from .worker import Worker


def _only(_ctx, _param, value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = set(names) - set(Worker.part_names())
    if unknown:
        raise click.BadParameter(
            f"unknown part {', '.join(sorted(unknown))}; choose from "
            + ", ".join(Worker.part_names())
        )
    return names


@group.command("worker")
@click.option("--once", is_flag=True, help="Run what is due now (each part in turn), then stop.")
@click.option(
    "--only",
    callback=_only,
    help="Run only these parts, comma separated: ticks (recurring tasks), jobs, send.",
)
def worker(once: bool, only: tuple[str, ...], **options) -> None:
    """Run the jobs (sync, import, analysis, backtest), the recurring tasks and sending."""
    runner = Worker(current_app._get_current_object(), options, only, echo=click.echo)
    runner.install_signal_handlers()
    parts = ", ".join(only or Worker.part_names())
    click.echo(f"worker {runner.worker_id} started ({parts})")
    runner.run(once=once)
    click.echo(f"worker {runner.worker_id} stopped")

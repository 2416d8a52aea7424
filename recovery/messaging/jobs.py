"""Messaging's background work: the sending loop, Mailjet's webhook posts and their retry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from ..jobs import JobContext, job_kind, recurring, worker_loop
from . import webhook
from .outbox import offline
from .sending_loop import SendingLoop


@worker_loop("send")
def sending_loop(app: Flask, options: dict[str, Any], echo: Callable[[str], None]) -> SendingLoop:
    """Due messages in batches; ``options`` are the worker command's (``messaging/cli.py``)."""
    with app.app_context():
        mode = "offline: due messages go to the outbox" if offline() else "through Mailjet"
    echo(f"sending {mode}")
    return SendingLoop(app, echo=echo).with_options(
        batch_size=options.get("batch"),
        claim_size=options.get("claim"),
        rate=options.get("rate"),
        lease_seconds=options.get("lease"),
        lookup_grace_seconds=options.get("grace"),
        idle_seconds=options.get("idle"),
    )


@job_kind(webhook.JOB_KIND, lease=timedelta(minutes=5), max_attempts=5)
def mailjet_events_job(ctx: JobContext) -> dict[str, Any]:
    """The stored POSTs of Mailjet events: each split into events, each event processed once.

    The lease covers one chunk of events (``webhook.CHUNK``), far less than 5 minutes.
    """
    return webhook.process_posts(progress=ctx.progress)


@recurring("webhook events", every=30.0)
def webhook_events(now: datetime) -> int:
    """Events whose processing failed, tried again; posts whose job gave up, resumed."""
    return webhook.process_pending(now) + webhook.resume_stalled(now)

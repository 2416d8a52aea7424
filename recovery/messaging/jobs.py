"""Messaging's background work: the sending loop and the retry of webhook events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask

from ..jobs import recurring, worker_loop
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
        rate=options.get("rate"),
        lease_seconds=options.get("lease"),
        lookup_grace_seconds=options.get("grace"),
        idle_seconds=options.get("idle"),
    )


@recurring("webhook events", every=30.0)
def webhook_events(now: datetime) -> int:
    """Events whose processing failed when they arrived, tried again."""
    return webhook.process_pending(now)

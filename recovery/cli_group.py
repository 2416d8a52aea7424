"""The ``flask recovery`` command group; the command modules add themselves to it.

It imports no command module, so they can import it without a cycle; ``create_app``
imports the command modules (``register_commands``).
"""

from __future__ import annotations

import click
from flask import Flask

group = click.Group("recovery", help="Win-back commands: users, demo, sync, analysis, worker.")


def init_app(app: Flask) -> None:
    app.cli.add_command(group)

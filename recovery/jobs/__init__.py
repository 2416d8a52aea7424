"""Background work: job rows, the registry of kinds and tasks, the worker (issue 11).

A job row in the database is the truth about a job (kind, parameters, state,
progress, result, error, who started it), as in Rails' Solid Queue or Elixir's Oban.
The web enqueues and shows progress; ``flask recovery worker`` runs everything. This
is a low layer: it imports only the models and extensions, and each domain registers
its own job kinds, recurring tasks and loops (``registry.py``).
"""

from __future__ import annotations

from .registry import job_kind, recurring, worker_loop
from .rows import ACTIVE, JobFailed, Wait, enqueue, latest, unfinished
from .worker import JobContext, run_here

__all__ = [
    "ACTIVE",
    "JobContext",
    "JobFailed",
    "Wait",
    "enqueue",
    "job_kind",
    "latest",
    "recurring",
    "run_here",
    "unfinished",
    "worker_loop",
]

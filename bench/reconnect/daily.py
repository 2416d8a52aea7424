"""The daily automation run of ReConnect on the benchmark data, timed in-process: the
follow-ups that are due decided and queued (``decide_followups``, as the worker's
recurring task runs it, repeated until every due contact is decided or only held ones
are left), the reorder reminders that are due decided and queued (``decide_reminders``,
the same way), then the attribution of the day's orders to the contacts and the
reminders (``attribute``, ``attribute_reminders``).

Changes the database (follow-ups and reminders decided, messages queued, orders
credited): run it on a copy of a freshly generated database (``generate.py``). The send
windows are opened for every hour first, so the run does not depend on the time of day.
Per part: wall time, this process's CPU time and the CPU time of its PostgreSQL backend
(from ``/proc``: the database runs on this machine).

    .venv/bin/python bench/reconnect/daily.py --db bench_reminder_run
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def backend_cpu(pid: int) -> float:
    """CPU seconds of a process on this machine (user + system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(label: str, work: Callable[[], str], pid: Callable[[], int]) -> float:
    """Run ``work``, print its summary with wall, app CPU and database CPU; the wall."""
    backend = pid()
    wall, cpu, db_cpu = time.perf_counter(), time.process_time(), backend_cpu(backend)
    summary = work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    db_cpu = backend_cpu(backend) - db_cpu
    same = "" if pid() == backend else " (backend changed: database CPU incomplete)"
    print(
        f"{label}: {summary}: {wall:.1f} s wall, app CPU {cpu:.1f} s, "
        f"database CPU {db_cpu:.1f} s{same}; load average {os.getloadavg()}",
        flush=True,
    )
    return wall


def until_done(decide, now) -> tuple:
    """The recurring task run again and again until it decides nothing more (or only
    holds): its results added up, and the number of runs."""
    total, rounds = None, 0
    while True:
        result = decide(now())
        rounds += 1
        if total is None:
            total = result
        else:
            total.sent += result.sent
            total.held += result.held
            for reason, n in result.skipped.items():
                total.skipped[reason] = total.skipped.get(reason, 0) + n
        if not result.sent and not result.skipped:
            return total, rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="bench_reconnect")
    args = parser.parse_args()
    os.environ.update(
        RECOVERY_ENV="production",
        SECRET_KEY="bench-daily-not-for-production-32-bytes-long",  # noqa: S106
        PUBLIC_BASE_URL="http://127.0.0.1",
        DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.db}",
    )
    from sqlalchemy import func, select, text

    from recovery import create_app
    from recovery.campaigns.attribution import attribute
    from recovery.campaigns.followups import decide_followups
    from recovery.campaigns.reminder_send import attribute_reminders
    from recovery.campaigns.reminders import decide_reminders
    from recovery.campaigns.windows import save_windows
    from recovery.extensions import db
    from recovery.models import Message, utcnow

    def messages() -> int:
        return db.session.scalar(select(func.count()).select_from(Message))

    def pid() -> int:
        return db.session.scalar(text("SELECT pg_backend_pid()"))

    def decided(decide) -> Callable[[], str]:
        def work() -> str:
            before = messages()
            total, rounds = until_done(decide, utcnow)
            return (
                f"{total.sent} sent ({messages() - before} messages queued), "
                f"{total.held} held, skipped {total.skipped} in {rounds} runs"
            )

        return work

    app = create_app()
    with app.test_request_context():
        save_windows({"weekdays": range(7), "hours": range(24)}, None)
        db.session.commit()
        walls = [
            timed("follow-ups", decided(decide_followups), pid),
            timed("reorder reminders", decided(decide_reminders), pid),
            timed("attribution", lambda: f"{attribute(utcnow())} contacts credited", pid),
            timed(
                "reminder attribution",
                lambda: f"{attribute_reminders(utcnow())} reminders credited",
                pid,
            ),
        ]
    print(f"daily run: {sum(walls):.1f} s; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()

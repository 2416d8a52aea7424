"""The daily automation run of ReConnect on the benchmark data, timed in-process: the
follow-ups that are due decided and queued (``decide_followups``, as the worker's
recurring task runs it, repeated until every due contact is decided or only held ones
are left), then the attribution of the day's orders (``attribute``).

Changes the database (follow-ups decided, messages queued, orders credited): run it on
a freshly generated ``bench_reconnect`` (``generate.py``). The send windows are opened
for every hour first, so the run does not depend on the time of day.

    .venv/bin/python bench/reconnect/daily.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


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
    from sqlalchemy import func, select

    from recovery import create_app
    from recovery.campaigns.attribution import attribute
    from recovery.campaigns.followups import FollowupResult, decide_followups
    from recovery.campaigns.windows import save_windows
    from recovery.extensions import db
    from recovery.models import Message, utcnow

    app = create_app()
    with app.test_request_context():
        save_windows({"weekdays": range(7), "hours": range(24)}, None)
        db.session.commit()
        messages_before = db.session.scalar(select(func.count()).select_from(Message))
        started = time.perf_counter()
        total, rounds = FollowupResult(), 0
        while True:
            result = decide_followups(utcnow())
            rounds += 1
            total.sent += result.sent
            total.held += result.held
            for reason, n in result.skipped.items():
                total.skipped[reason] = total.skipped.get(reason, 0) + n
            if not result.sent and not result.skipped:  # nothing due, or only held ones
                break
        followups = time.perf_counter() - started
        queued = db.session.scalar(select(func.count()).select_from(Message)) - messages_before
        started = time.perf_counter()
        credited = attribute(utcnow())
        attribution = time.perf_counter() - started
    print(
        f"follow-ups: {total.sent} sent ({queued} messages queued), {total.held} held, "
        f"skipped {total.skipped} in {rounds} runs: {followups:.1f} s"
    )
    print(f"attribution: {credited} contacts credited: {attribution:.1f} s")
    print(f"daily run: {followups + attribution:.1f} s; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()

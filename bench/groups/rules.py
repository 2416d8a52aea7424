"""Re-evaluating 20 rule-based groups on the big shop (issue 15 benchmark): 1 000 000
customers, 10 000 000 order lines, PostgreSQL; target ≤ 30 s for all 20 after an analysis.

The data are bench/queue/generate.py's (fixed seed), in a database of their own:

    .venv/bin/python bench/queue/generate.py --db bench_groups      # once, a few minutes
    .venv/bin/python bench/groups/rules.py --db bench_groups --out /tmp/groups.json
    dropdb -h 127.0.0.1 -U postgres bench_groups                     # when done

Four rounds over the same 20 groups (every rule type, alone and combined):
``fill`` – the groups are new, every match is added (and, the first time on a database,
the kept order facts are built); ``again`` – the same day once more, nothing changes;
``month later`` – the clock 30 days on, so the windows (last N months, revenue of 12
months, last order in 90 days) move and members come and go; ``after a sync`` – as
before, after a sync wrote the orders of ``--changed`` (1 %) of the customers, whose
kept order facts are rebuilt (what a nightly analysis after the nightly sync does).
Each round is one call of ``recovery.audience.members.evaluate``
for the 20 groups – what the analysis job runs: the kept order facts refreshed, the
revenue summed once, then each group by set difference. The groups are deleted at the end.

Each round prints its wall time, the load average and the CPU seconds of the PostgreSQL
backend that ran it (read from /proc: the database on this machine; the CPU of parallel
workers is not included). ``--statements 0.5`` also prints every statement slower than
half a second with its wall and backend CPU time. Results: bench/groups/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def rules(today: date) -> dict[str, list[dict]]:
    """20 groups: each rule type alone, and combinations."""
    return {
        "Händler": [{"type": "customer_group", "values": ["Händler"]}],
        "Stammkunden AT": [
            {"type": "customer_group", "values": ["Stammkunde"]},
            {"type": "country", "values": ["AT"]},
        ],
        "Schweiz": [{"type": "country", "values": ["CH"]}],
        "Warengruppe 1 je": [{"type": "product_groups", "ids": [1], "months": None}],
        "Warengruppen 2+3, 6 Monate": [{"type": "product_groups", "ids": [2, 3], "months": 6}],
        "WG 4, 12 Monate, ab 500 €": [
            {"type": "product_groups", "ids": [4], "months": 12},
            {"type": "revenue", "min": "500.00", "max": None},
        ],
        "Umsatz 1000–5000": [{"type": "revenue", "min": "1000.00", "max": "5000.00"}],
        "Umsatz bis 100": [{"type": "revenue", "min": None, "max": "100.00"}],
        "Umsatz ab 10000": [{"type": "revenue", "min": "10000.00", "max": None}],
        "Letzte Bestellung vor 1–2 Jahren": [
            {
                "type": "last_order",
                "from": (today - timedelta(days=730)).isoformat(),
                "to": (today - timedelta(days=365)).isoformat(),
            }
        ],
        "Bestellt in 90 Tagen": [
            {"type": "last_order", "from": (today - timedelta(days=90)).isoformat(), "to": None}
        ],
        "Rückgang": [{"type": "flag", "value": "decline"}],
        "Überfällig": [{"type": "flag", "value": "overdue"}],
        "Endkunden unauffällig": [
            {"type": "flag", "value": "none"},
            {"type": "customer_group", "values": ["Endkunde"]},
        ],
        "Firma 1": [{"type": "company", "ids": [1]}],
        "Firma 2 mit WG 5": [
            {"type": "company", "ids": [2]},
            {"type": "product_groups", "ids": [5], "months": None},
        ],
        "Gewerbe 200–2000": [
            {"type": "customer_group", "values": ["Gewerbe"]},
            {"type": "revenue", "min": "200.00", "max": "2000.00"},
        ],
        "DE mit Rückgang": [
            {"type": "country", "values": ["DE"]},
            {"type": "flag", "value": "decline"},
        ],
        "AT mit WG 6–10": [
            {"type": "product_groups", "ids": [6, 7, 8, 9, 10], "months": None},
            {"type": "country", "values": ["AT"]},
        ],
        "Firma 3 im Jahr": [
            {"type": "company", "ids": [3]},
            {"type": "last_order", "from": (today - timedelta(days=365)).isoformat(), "to": None},
        ],
    }


def backend_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a PostgreSQL backend on this machine, if readable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def print_statements(engine, slower_than: float) -> None:
    """Print every statement that takes longer than ``slower_than`` seconds, with its
    wall time and its backend's CPU seconds."""
    from sqlalchemy import event

    @event.listens_for(engine, "before_cursor_execute")
    def started(conn, cursor, statement, params, context, executemany):
        pid = conn.info.setdefault("backend_pid", cursor.connection.info.backend_pid)
        conn.info["started"] = (time.perf_counter(), backend_cpu(pid))

    @event.listens_for(engine, "after_cursor_execute")
    def finished(conn, cursor, statement, params, context, executemany):
        wall0, cpu0 = conn.info["started"]
        wall = time.perf_counter() - wall0
        if wall >= slower_than:
            cpu1 = backend_cpu(conn.info["backend_pid"])
            cpu = f"{cpu1 - cpu0:6.1f}" if cpu0 is not None and cpu1 is not None else "     ?"
            sql = " ".join(statement.split())[:150]
            print(f"      {wall:6.1f} s wall {cpu} s cpu  {sql}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="bench_groups")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--statements",
        type=float,
        metavar="SECONDS",
        help="print the statements slower than this, with wall and backend CPU seconds",
    )
    parser.add_argument(
        "--changed",
        type=float,
        default=0.01,
        help="share of customers whose orders a sync changed before the last round",
    )
    args = parser.parse_args()
    os.environ.update(
        RECOVERY_ENV="development",
        DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.db}",
    )
    from sqlalchemy import delete, func, select, text

    from recovery import create_app
    from recovery.audience.facts import refresh_order_facts
    from recovery.audience.members import evaluate
    from recovery.extensions import db
    from recovery.models import ContactGroup, GroupMember, GroupMemberChange, utcnow

    app = create_app()
    report: dict = {"db": args.db, "rounds": {}}
    with app.app_context():
        if args.statements is not None:
            print_statements(db.engine, args.statements)
        db.session.execute(delete(ContactGroup).where(ContactGroup.name.like("bench: %")))
        db.session.commit()
        report["customers"] = db.session.scalar(
            select(func.count()).select_from(db.metadata.tables["customer"])
        )
        report["order_lines"] = db.session.scalar(
            select(func.count()).select_from(db.metadata.tables["order_line"])
        )
        now = utcnow()
        groups = {}
        for name, group_rules in rules(now.date()).items():
            group = ContactGroup(name=f"bench: {name}", rules=group_rules)
            db.session.add(group)
            db.session.flush()
            groups[group.id] = name
        db.session.commit()
        # the kept order facts: built in full the first time on a database, then a
        # refresh of what changed (nothing here) - timed apart from the rounds
        load = os.getloadavg()
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        cpu = backend_cpu(pid)
        started = time.perf_counter()
        refreshed = refresh_order_facts()
        db.session.commit()
        took = time.perf_counter() - started
        cpu_after = backend_cpu(pid)
        report["facts_refresh"] = {
            "customers": "all" if refreshed.customers is None else refreshed.customers,
            "seconds": round(took, 1),
            "postgres_cpu_seconds": round(cpu_after - cpu, 1)
            if None not in (cpu, cpu_after)
            else None,
            "load_before": [round(x, 2) for x in load],
            "load_after": [round(x, 2) for x in os.getloadavg()],
        }
        facts = report["facts_refresh"]
        print(f"order facts refreshed ({facts['customers']} customers) in {took:.1f} s "
              f"(backend CPU {facts['postgres_cpu_seconds']} s), "
              f"load {load[0]:.1f} → {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        for label, when in (
            ("fill", now),
            ("again", now),
            ("month later", now + timedelta(days=30)),
            ("after a sync", now + timedelta(days=30)),
        ):
            if label == "after a sync":
                # a sync changed the orders of --changed of the customers: their kept
                # order facts are rebuilt (updated_at as a sync writes it)
                touched = db.session.execute(
                    text(
                        "UPDATE customer_order SET updated_at = :at WHERE customer_id % :every = 0"
                    ),
                    {"at": utcnow().replace(tzinfo=None), "every": round(1 / args.changed)},
                ).rowcount
                db.session.commit()
                report["sync_orders_touched"] = touched
                print(f"(orders of {args.changed:.0%} of the customers touched: {touched})")
            load = os.getloadavg()
            pid = db.session.scalar(text("SELECT pg_backend_pid()"))
            cpu = backend_cpu(pid)
            started = time.perf_counter()
            results = evaluate(list(groups), when)  # what the analysis job calls
            total = time.perf_counter() - started
            same = db.session.scalar(text("SELECT pg_backend_pid()")) == pid
            cpu_after = backend_cpu(pid)
            pg_cpu = round(cpu_after - cpu, 1) if same and None not in (cpu, cpu_after) else None
            per_group = [
                {"group": groups[r.group_id], "added": r.added, "removed": r.removed}
                for r in results
            ]
            members = db.session.scalar(
                select(func.count()).where(GroupMember.group_id.in_(list(groups)))
            )
            report["rounds"][label] = {
                "seconds": round(total, 1),
                "postgres_cpu_seconds": pg_cpu,
                "load_before": [round(x, 2) for x in load],
                "load_after": [round(x, 2) for x in os.getloadavg()],
                "members": members,
                "groups": per_group,
            }
            print(f"{label}: 20 groups in {total:.1f} s (PostgreSQL backend CPU {pg_cpu} s), "
                  f"{members} members, load {load[0]:.1f} → {os.getloadavg()[0]:.1f}",
                  flush=True)  # fmt: skip
            for row in per_group:
                print(f"  +{row['added']:<7} -{row['removed']:<7} {row['group']}", flush=True)
        report["changes_recorded"] = db.session.scalar(
            select(func.count()).where(GroupMemberChange.group_id.in_(list(groups)))
        )
        db.session.execute(delete(ContactGroup).where(ContactGroup.id.in_(list(groups))))
        db.session.commit()
    if args.out:
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""What the queue shows, as JSON: to prove that a faster version shows exactly the same.

Logs in as the bench user (Flask test client, production config, the benchmark
database) and records, per URL, the status, the Location of a redirect and the page
with its per-request noise (CSRF tokens) removed: the tiles, every list in every sort
and both directions, filters, searches (wildcards, blanks, umlauts, short terms), the
CSV exports, case pages of the customers with the most orders and "next customer"
from many places. Run it with the code to compare on ``PYTHONPATH`` and diff the files:

    createdb -h 127.0.0.1 -U postgres -T recovery_bench_small snap_a   # and snap_b
    PYTHONPATH=/tmp/reference .venv/bin/python bench/queue/snapshot.py --db snap_a \
        --out /tmp/before.json
    PYTHONPATH=. .venv/bin/python bench/queue/snapshot.py --db snap_b --out /tmp/after.json
    cmp /tmp/before.json /tmp/after.json

Opening a case claims it and "next" releases it, so run both against fresh copies of
the database (``createdb -T``). ``PYTHONPATH`` decides which ``recovery`` runs (with
its templates); the script prints which one it was.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

import psycopg

SERVER = "postgresql://postgres@127.0.0.1:5432"
SORTS = [
    "number", "name", "company", "customer_group", "last_order", "reference_revenue",
    "current_revenue", "decline_pct", "revenue_at_risk", "status", "assigned", "remind_at",
    "recovered_revenue",
]  # fmt: skip
TILES = ["decline", "reminders", "contacted", "offer", "no_interest", "recovered"]
SEARCHES = [
    "schmidt", "SCHMIDT", "K10471", "anna schmidt", "müll", "mann ", " er", "xy", "%", "_a_",
    "gmx.de", "gärtnerei", "& söhne", "a%b", "K1000", "@web", "zz", "\\", "schmi_t", "ost%feld",
]  # fmt: skip

# Different on every request: CSRF and one-time form tokens, signed unsubscribe links.
NOISE = [
    re.compile(r'(name="(?:csrf_token|token)"[^>]*value=")[^"]*'),
    re.compile(r"(/unsubscribe/)[\w.-]+"),
]


def urls(db: str) -> list[str]:
    with psycopg.connect(f"{SERVER}/{db}") as conn:
        busy = [
            r[0]
            for r in conn.execute(
                "SELECT c.id FROM recovery_case c JOIN customer_order o ON o.customer_id = "
                "c.customer_id WHERE c.kind = 'decline' GROUP BY c.id ORDER BY count(*) DESC, "
                "c.id LIMIT 8"
            )
        ]
        some = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM recovery_case WHERE kind = 'decline' AND status = 'new' "
                "ORDER BY id LIMIT 6"
            )
        ]
        group = conn.execute("SELECT min(customer_group) FROM customer").fetchone()[0]
    out = ["/"]
    for tile in TILES:
        for sort in SORTS:
            for direction in ("", "-"):
                out.append(f"/list/{tile}?sort={direction}{sort}")
        out.append(f"/list/{tile}?page=2")
    out += [f"/list/decline?sort=-decline_pct&page={p}" for p in (1, 3, 50)]
    out += [
        "/list/decline?company=2&sort=-decline_pct&page=3",
        "/list/decline?company=1&sort=name",
        f"/list/decline?customer_group={group}",
        f"/list/decline?customer_group={group}&q=schmidt&sort=number",
        "/list/decline?assigned=3",
        "/list/contacted?assigned=4&sort=last_order",
        "/list/decline?page=100000",
    ]
    out += [f"/list/decline?q={q}" for q in SEARCHES]
    out += [f"/list/decline?q={q}&sort=name&page=2" for q in SEARCHES[:4]]
    out += ["/list/decline?q=schmidt&page=1000", "/list/decline?q=mann&sort=-decline_pct&page=3"]
    out += [  # under 1000 rows: the old export broke off after the first 1000
        "/list/decline/export.csv?q=schmidt",
        "/list/decline/export.csv?company=3&q=mann&format=en&sort=name",
        "/list/offer/export.csv?sort=-decline_pct",
        "/list/recovered/export.csv?format=en",
    ]
    out += [f"/case/{case}?list=decline" for case in busy]
    for case in some:
        for sort in ("-revenue_at_risk", "decline_pct", "name", "-last_order", "remind_at"):
            out.append(f"/case/{case}/next?list=decline&sort={sort}")
        out.append(f"/case/{case}/next?list=decline&company=2&sort=-decline_pct")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="recovery_bench_small")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.environ.update(
        RECOVERY_ENV="production",
        SECRET_KEY="bench-snapshot-not-for-production-32-bytes",  # noqa: S106 - a throwaway app
        PUBLIC_BASE_URL="http://127.0.0.1",
        SESSION_COOKIE_SECURE="false",
        DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.db}",
    )
    import recovery
    from recovery import create_app

    app = create_app()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post(
        "/login",
        data={"email": "bench@bench.example", "password": "bench-sales-2026", "csrf_token": token},
    )
    pages = {}
    for url in urls(args.db):
        try:
            response = client.get(url)
            body = response.get_data(as_text=True)
        except Exception as exc:  # noqa: BLE001 - recorded, so the diff shows it
            pages[url] = {"error": repr(exc)}
            continue
        for noise in NOISE:
            body = noise.sub(r"\1", body)
        pages[url] = {
            "status": response.status_code,
            "location": response.headers.get("Location"),
            "body": body,
        }
    with open(args.out, "w") as out:
        json.dump(pages, out, indent=1, ensure_ascii=False)
    print(f"{len(pages)} URLs from {Path(recovery.__file__).parent} written to {args.out}")


if __name__ == "__main__":
    main()

"""ReConnect's overview, tabs and confirm count against 200 000 overdue pairs on
PostgreSQL, timed in-process (the service calls a page makes, without HTTP).

A first measurement for docs/reconnect.md, not the issue's wrk benchmark: it builds
the database ``recovery_r14bench`` afresh (``flask db upgrade``, then SQL
``generate_series``): 30 groups, 200 000 customers, one open overdue case each – 50 000
of them in group 1, the rest spread over 29 groups –, 5 % do-not-contact, 10 % consent
refused, 20 000 recent marketing messages (the cap), 30 000 contacts of the last 3
months. Then it times each call ``--repeat`` times and prints median and p95 in ms.

    .venv/bin/python bench/reconnect/tabs.py [--keep] [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DB = "recovery_r14bench"
URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB}"

FILL = """
INSERT INTO company (id, name, channel_preference, sender_email, sms_provider, created_at)
SELECT g, 'Firma ' || g, (ARRAY['email','both','sms_else_email'])[g], 'shop@example.de',
       'mailjet_sms', now() FROM generate_series(1, 3) g;
INSERT INTO product_group (id, name, created_at)
SELECT g, 'Warengruppe ' || g, now() FROM generate_series(1, 30) g;
INSERT INTO customer (id, source, external_id, number, first_name, last_name, email, mobile,
                      marketing_consent, locale, created_at, updated_at)
SELECT i, 'bench', i::text, 'K' || i, 'Vorname', 'Name' || i,
       CASE WHEN i % 10 <> 0 THEN 'k' || i || '@example.de' END,
       CASE WHEN i % 2 = 0 THEN '0171' || lpad(i::text, 7, '0') END,
       CASE WHEN i % 10 = 3 THEN false WHEN i % 3 = 0 THEN NULL ELSE true END,
       'de', now(), now()
FROM generate_series(1, 200000) i;
INSERT INTO recovery_case (customer_id, key, kind, product_group_id, company_id, status,
                           opened_at, reason_params, revenue_at_risk, last_order_at,
                           expected_next_order, updated_at)
SELECT i, 'overdue:' || g, 'overdue', g, 1 + i % 3, 'new', now() - interval '30 days', '{}',
       round((random() * 2000)::numeric, 2), now() - interval '120 days',
       now() - interval '20 days', now()
FROM (SELECT i, CASE WHEN i <= 50000 THEN 1 ELSE 2 + i % 29 END AS g
      FROM generate_series(1, 200000) i) s;
INSERT INTO do_not_contact (customer_id, channel, reason, created_at)
SELECT i, 'email', (ARRAY['unsubscribed','hard_bounce'])[1 + i % 2], now()
FROM generate_series(1, 200000) i WHERE i % 20 = 7;
INSERT INTO message (customer_id, channel, purpose, marketing, to_address, variables, state,
                     send_after, attempts, created_at)
SELECT i, 'email', 'queue', true, 'k' || i || '@example.de', '{}', 'sent',
       now() - interval '2 days', 1, now() - interval '2 days'
FROM generate_series(1, 200000) i WHERE i % 10 = 1;
INSERT INTO reconnect_settings (product_group_id, enabled, followup_delay_days,
                                attribution_days, updated_at)
SELECT g, true, 14, 30, now() FROM generate_series(1, 30) g;
INSERT INTO reconnect_contact (case_id, customer_id, product_group_id, company_id,
                               first_sent_at, first_channels, followup_at, reconnected_at,
                               reconnected_revenue, created_at)
SELECT c.id, c.customer_id, c.product_group_id, c.company_id,
       now() - (c.id % 80) * interval '1 day', 'email',
       CASE WHEN c.id % 3 = 0 THEN now() - (c.id % 60) * interval '1 day' END,
       CASE WHEN c.id % 5 = 0 THEN now() - (c.id % 50) * interval '1 day' END,
       CASE WHEN c.id % 5 = 0 THEN 120.50 END, now()
FROM recovery_case c WHERE c.id % 200000 < 30000 AND c.id % 7 = 2 OR c.id % 20 = 4;
ANALYZE;
"""


def build() -> None:
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]
    subprocess.run([*psql, "-c", f"DROP DATABASE IF EXISTS {DB}"], check=True)
    subprocess.run([*psql, "-c", f"CREATE DATABASE {DB}"], check=True)
    env = {"DATABASE_URL": URL, "FLASK_APP": "wsgi", "PATH": "/usr/bin:/bin"}
    flask = [str(ROOT / ".venv" / "bin" / "flask"), "db", "upgrade"]
    subprocess.run(flask, check=True, cwd=ROOT, env=env, capture_output=True)
    subprocess.run([*psql, "-d", DB], input=FILL.encode(), check=True)


def timed(name: str, call, repeat: int) -> None:
    call()  # warm the caches and the plan
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(f"{name:44s} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help="reuse the database")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if not args.keep:
        build()
    from recovery import create_app
    from recovery.campaigns import lists
    from recovery.campaigns.first import Scope, plan
    from recovery.models import utcnow

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=URL)
    with app.test_request_context():
        now = utcnow()
        timed("overview (30 groups, all companies)", lambda: lists.overview(None, now), 5)
        timed("overview (one company)", lambda: lists.overview(1, now), 5)
        for tab in lists.TABS:
            timed(
                f"tab {tab} group 1 (50 000), page 1",
                lambda tab=tab: lists.tab_page(1, tab, None, 1, now),
                args.repeat,
            )
        timed(
            "tab reachable group 1, page 200",
            lambda: lists.tab_page(1, "reachable", None, 200, now),
            args.repeat,
        )
        timed(
            "tab reachable group 7 (~5 000), page 1",
            lambda: lists.tab_page(7, "reachable", None, 1, now),
            args.repeat,
        )
        timed("confirm count, all groups", lambda: plan(Scope(), now), 5)


if __name__ == "__main__":
    main()

"""ReConnect benchmark data (issue 14): 1 M customers, 30 product groups, 200 000 open
overdue customer × group pairs with three months of ReConnect history, in PostgreSQL.

Creates the database afresh (``DROP … WITH (FORCE)``), builds the schema with the app's
migrations (``flask db upgrade``), then fills it with SQL ``generate_series`` (fixed
seed, dates relative to ``now()``) and runs VACUUM ANALYZE:

* 3 companies (channel preference email / both / SMS else email), 30 groups, 1 000 000
  customers: 90 % with an email, 50 % with a mobile, marketing consent 70 % yes, 10 %
  no, 20 % not recorded; 5 % with an email do-not-contact record.
* Orders: one older order per customer (two lines), the last order of every overdue
  pair in its group 100–160 days ago, reconnecting orders after the first message,
  open orders, and fresh orders of the last day that the attribution has not credited.
* 200 000 open overdue cases (skewed over the groups: the largest has about 36 000);
  170 000 customers have one, 30 000 a second group. 3 % have the send switch off.
* ReConnect on for every group (delay 14 days, window 30 days, texts set). 60 000 of the
  open cases contacted over the last 90 days (follow-ups sent, skipped, or due), plus
  ``--due`` contacts whose follow-up is due now (a big batch 14 days ago), plus 15 000
  closed episodes that were reconnected (credited orders, recovered cases). Their
  messages are stored as sent; 50 000 customers got a queue email in the last 3 days
  (the marketing cap).

    .venv/bin/python bench/reconnect/generate.py               # ~3 min
    .venv/bin/python bench/reconnect/generate.py --drop        # remove the database
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import psycopg
from psycopg import sql
from werkzeug.security import generate_password_hash

ROOT = Path(__file__).resolve().parents[2]
SERVER = "postgresql://postgres@127.0.0.1:5432"
DB = "bench_reconnect"
BENCH_EMAIL = "bench@bench.example"
BENCH_PASSWORD = "bench-sales-2026"  # noqa: S105 - a throwaway benchmark database

# Each step: a label and its SQL. %(name)s are parameters from ``params()``.
STEPS = [
    (
        "companies, groups, users, settings",
        """
INSERT INTO company (id, name, channel_preference, sender_email, sender_name, sms_provider,
                     sms_sender, created_at)
SELECT g, (ARRAY['Gartenwelt GmbH','Hof & Feld Versand GmbH','Profi-Gartenbedarf AG'])[g],
       (ARRAY['email','both','sms_else_email'])[g], 'shop' || g || '@example.de', 'Shop',
       'mailjet_sms', 'Shop', now()
FROM generate_series(1, 3) g;
INSERT INTO product_group (id, name, default_interval_days, created_at)
SELECT g, 'Warengruppe ' || g, 60, now() FROM generate_series(1, 30) g;
INSERT INTO product (source, sku, name, product_group_id)
SELECT 'bench', 'P' || g || '-' || p, 'Artikel ' || p, g
FROM generate_series(1, 30) g, generate_series(1, 10) p;
INSERT INTO user_account (email, name, password_hash, role, locale, is_active_user,
                          session_token, created_at)
VALUES (%(email)s, 'Bench Sales', %(hash)s, 'sales', 'de', true, md5(random()::text), now()),
       ('admin@bench.example', 'Bench Admin', %(hash)s, 'admin', 'de', true,
        md5(random()::text), now());
INSERT INTO reconnect_settings (product_group_id, enabled, followup_delay_days,
                                attribution_days, updated_at)
SELECT g, true, 14, 30, now() FROM generate_series(1, 30) g;
INSERT INTO group_message_texts (product_group_id, first_email_template_id,
                                 followup_email_template_id, first_sms_text,
                                 followup_sms_text, updated_at)
SELECT g, 4711, 4712, 'Hallo {vorname}, wir vermissen Sie!',
       'Hallo {vorname}, schon gesehen?', now()
FROM generate_series(1, 30) g;
""",
    ),
    (
        "1 000 000 customers",
        """
INSERT INTO customer (id, source, external_id, number, first_name, last_name, email, mobile,
                      city, country, marketing_consent, locale, created_at, updated_at)
SELECT i, 'bench', i::text, 'K' || i,
       (ARRAY['Anna','Bernd','Claudia','Dieter','Eva','Frank','Jürgen','Käthe'])[1 + i %% 8],
       (ARRAY['Müller','Schmidt','Schneider','Fischer','Weber','Meyer','Wagner','Becker',
              'Schulz','Hoffmann','Schäfer','Koch','Bauer','Richter','Klein'])[1 + i %% 15]
         || ' ' || i,
       CASE WHEN i %% 10 <> 0 THEN 'k' || i || '@example.de' END,
       CASE WHEN i %% 2 = 0 THEN '+49171' || lpad(i::text, 7, '0') END,
       'Berlin', 'DE',
       CASE WHEN i %% 10 = 3 THEN false WHEN i %% 5 = 1 THEN NULL ELSE true END,
       'de', now() - interval '3 years', now()
FROM generate_series(1, %(customers)s) i;
INSERT INTO do_not_contact (customer_id, channel, reason, created_at)
SELECT i, 'email', (ARRAY['unsubscribed','hard_bounce'])[1 + i %% 2], now() - interval '60 days'
FROM generate_series(1, %(customers)s) i WHERE i %% 20 = 7;
""",
    ),
    (
        "older orders (two lines each)",
        """
INSERT INTO customer_order (id, source, external_id, number, customer_id, company_id,
                            ordered_at, currency, net_total, state, updated_at)
SELECT i, 'bench', 'h' || i, 'A' || i, i, 1 + i %% 3,
       now() - interval '400 days' - (i %% 300) * interval '1 day', 'EUR', 80, 'completed', now()
FROM generate_series(1, %(customers)s) i;
INSERT INTO order_line (order_id, line_no, sku, product_group_id, quantity, net_amount)
SELECT i, n, 'P' || (1 + (i * n) %% 30) || '-1', 1 + (i * n * 7) %% 30, 1, 40
FROM generate_series(1, %(customers)s) i, generate_series(1, 2) n;
""",
    ),
    (
        "200 000 overdue pairs with their last order",
        """
SELECT setseed(0.42);
CREATE TEMP TABLE pair AS
SELECT i,
       CASE WHEN i <= 170000 THEN (i::bigint * 7919) %% %(customers)s + 1
            ELSE ((i - 170000)::bigint * 7919) %% %(customers)s + 1 END AS customer_id,
       1 + floor(30 * power(random(), 2))::int AS g
FROM generate_series(1, %(pairs)s) i;
-- the second group of a customer differs from the first
UPDATE pair p SET g = 1 + q.g %% 30 FROM pair q
WHERE p.i > 170000 AND q.i = p.i - 170000 AND q.g = p.g;
INSERT INTO customer_order (id, source, external_id, number, customer_id, company_id,
                            ordered_at, currency, net_total, state, updated_at)
SELECT 2000000 + i, 'bench', 'l' || i, 'L' || i, customer_id, 1 + customer_id %% 3,
       now() - interval '100 days' - (i %% 60) * interval '1 day', 'EUR', 120, 'completed',
       now()
FROM pair;
INSERT INTO order_line (order_id, line_no, sku, product_group_id, quantity, net_amount)
SELECT 2000000 + i, 1, 'P' || g || '-2', g, 2, 120 FROM pair;
INSERT INTO recovery_case (id, customer_id, key, kind, product_group_id, company_id, status,
                           opened_at, reason_key, reason_params, revenue_at_risk,
                           last_order_at, expected_next_order, analysed_at, updated_at)
SELECT i, customer_id, 'overdue:' || g, 'overdue', g, 1 + customer_id %% 3, 'new',
       now() - interval '5 days' - (i %% 100) * interval '1 day', 'group_overdue', '{}',
       round((random() * 2000)::numeric, 2),
       now() - interval '100 days' - (i %% 60) * interval '1 day',
       now() - interval '40 days' - (i %% 60) * interval '1 day', now(), now()
FROM pair;
INSERT INTO reconnect_exclusion (customer_id, product_group_id, created_at)
SELECT customer_id, g, now() - interval '30 days' FROM pair WHERE i %% 33 = 5;
""",
    ),
    (
        "contacts of open cases, their messages and follow-ups",
        """
SELECT setseed(0.43);
-- 60 000 open cases contacted over the last 90 days (first message at 8:00 UTC),
-- plus --due ones whose follow-up is due now (a batch 14 days and a few hours ago)
CREATE TEMP TABLE contacted AS
SELECT c.id AS case_id, c.customer_id, c.product_group_id AS g, c.company_id,
       CASE WHEN c.id <= 180000
            THEN date_trunc('day', now()) - (c.id %% 90) * interval '1 day' + interval '8 hours'
            ELSE now() - interval '14 days 3 hours' END AS first_at,
       random() AS r
FROM recovery_case c
WHERE c.id %% 3 = 0 AND c.id <= 180000 AND c.id %% 33 <> 5
   OR c.id > 190000 AND c.id <= 190000 + %(due)s;
UPDATE recovery_case SET status = 'contacted'
WHERE id IN (SELECT case_id FROM contacted);
INSERT INTO reconnect_contact (case_id, customer_id, product_group_id, company_id,
                               first_sent_at, first_channels, followup_at, followup_skipped,
                               followup_decided_at, created_at)
SELECT case_id, customer_id, g, company_id, first_at, 'email',
       CASE WHEN first_at < now() - interval '15 days' AND r < 0.8
            THEN first_at + interval '14 days' + interval '4 hours' END,
       CASE WHEN first_at < now() - interval '15 days' AND r >= 0.8
            THEN (ARRAY['ordered','open_order','unsubscribed','switched_off'])[1 + (case_id %% 4)]
       END,
       CASE WHEN first_at < now() - interval '15 days'
            THEN first_at + interval '14 days' + interval '4 hours' END,
       first_at
FROM contacted;
INSERT INTO message (customer_id, case_id, company_id, channel, purpose, marketing,
                     template_kind, template_id, to_address, variables, state, send_after,
                     attempts, created_at, sent_at)
SELECT customer_id, case_id, company_id, 'email', 'reconnect', true, 'reconnect_first', 4711,
       'k' || customer_id || '@example.de', '{}',
       CASE WHEN first_at <= now() THEN 'sent' ELSE 'queued' END, first_at, 1, first_at,
       CASE WHEN first_at <= now() THEN first_at END
FROM contacted;
INSERT INTO message (customer_id, case_id, company_id, channel, purpose, marketing,
                     template_kind, template_id, to_address, variables, state, send_after,
                     attempts, created_at, sent_at)
SELECT rc.customer_id, rc.case_id, rc.company_id, 'email', 'followup', true,
       'reconnect_followup', 4712, 'k' || rc.customer_id || '@example.de', '{}', 'sent',
       rc.followup_at, 1, rc.followup_at, rc.followup_at
FROM reconnect_contact rc WHERE rc.followup_at IS NOT NULL;
-- orders of the last day after a first message, not credited yet (attribution's work),
-- and open orders of some contacted customers (follow-up skipped: open order)
INSERT INTO customer_order (id, source, external_id, number, customer_id, company_id,
                            ordered_at, currency, net_total, state, updated_at)
SELECT 3000000 + case_id, 'bench', 'n' || case_id, 'N' || case_id, customer_id, company_id,
       now() - interval '6 hours', 'EUR', 95.5,
       CASE WHEN case_id %% 7 = 0 THEN 'open' ELSE 'completed' END, now()
FROM contacted WHERE r < 0.05 AND first_at < now() - interval '1 day';
INSERT INTO order_line (order_id, line_no, sku, product_group_id, quantity, net_amount)
SELECT 3000000 + case_id, 1, 'P' || g || '-3', g, 1, 95.5
FROM contacted WHERE r < 0.05 AND first_at < now() - interval '1 day';
""",
    ),
    (
        "reconnected episodes (closed cases, credited orders)",
        """
SELECT setseed(0.44);
-- 15 000 earlier episodes of the pairs' customers in another group: contacted,
-- reordered inside the window, credited, the case closed as recovered
CREATE TEMP TABLE won AS
SELECT 300000 + i AS case_id, p.customer_id, 1 + (p.product_group_id + 7) %% 30 AS g,
       1 + p.customer_id %% 3 AS company_id,
       date_trunc('day', now()) - (30 + i %% 60) * interval '1 day' + interval '8 hours'
         AS first_at,
       (1 + i %% 25) * interval '1 day' + interval '3 hours' AS after,
       round((30 + random() * 300)::numeric, 2) AS revenue
FROM generate_series(1, 15000) i JOIN recovery_case p ON p.id = i * 11;
INSERT INTO customer_order (id, source, external_id, number, customer_id, company_id,
                            ordered_at, currency, net_total, state, updated_at)
SELECT 4000000 + case_id, 'bench', 'w' || case_id, 'W' || case_id, customer_id, company_id,
       first_at + after, 'EUR', revenue, 'completed', now()
FROM won;
INSERT INTO order_line (order_id, line_no, sku, product_group_id, quantity, net_amount)
SELECT 4000000 + case_id, 1, 'P' || g || '-4', g, 1, revenue FROM won;
INSERT INTO recovery_case (id, customer_id, key, kind, product_group_id, company_id, status,
                           opened_at, closed_at, reason_key, reason_params, revenue_at_risk,
                           last_order_at, expected_next_order, recovered_at,
                           recovered_revenue, recovered_order_id, analysed_at, updated_at)
SELECT case_id, customer_id, 'overdue:' || g, 'overdue', g, company_id, 'recovered',
       first_at - interval '4 days', first_at + after, 'group_overdue', '{}', 300,
       first_at - interval '150 days', first_at - interval '60 days', first_at + after,
       revenue, 4000000 + case_id, now(), now()
FROM won;
INSERT INTO reconnect_contact (case_id, customer_id, product_group_id, company_id,
                               first_sent_at, first_channels, followup_at,
                               followup_decided_at, reconnected_at, reconnected_order_id,
                               reconnected_revenue, created_at)
SELECT case_id, customer_id, g, company_id, first_at, 'email',
       CASE WHEN after > interval '14 days' THEN first_at + interval '14 days 4 hours' END,
       CASE WHEN after > interval '14 days' THEN first_at + interval '14 days 4 hours' END,
       first_at + after, 4000000 + case_id, revenue, first_at
FROM won;
INSERT INTO message (customer_id, case_id, company_id, channel, purpose, marketing,
                     template_kind, template_id, to_address, variables, state, send_after,
                     attempts, created_at, sent_at)
SELECT customer_id, case_id, company_id, 'email', 'reconnect', true, 'reconnect_first', 4711,
       'k' || customer_id || '@example.de', '{}', 'sent', first_at, 1, first_at, first_at
FROM won;
-- the marketing cap: a queue email to 50 000 customers in the last 3 days
INSERT INTO message (customer_id, company_id, channel, purpose, marketing, to_address,
                     variables, state, send_after, attempts, created_at, sent_at)
SELECT i, 1 + i %% 3, 'email', 'queue', true, 'k' || i || '@example.de', '{}', 'sent',
       now() - (i %% 3) * interval '1 day', 1, now() - (i %% 3) * interval '1 day',
       now() - (i %% 3) * interval '1 day'
FROM generate_series(1, %(customers)s) i WHERE i %% 20 = 11;
""",
    ),
    (
        "reorder reminders: settings, orders and predictions that make them due",
        """
SELECT setseed(0.45);
-- groups 1-5 remind 30 days after an order, groups 6-10 7 days before the customer
-- becomes overdue (the analysis's prediction in reorder_due)
INSERT INTO reorder_settings (product_group_id, mode, days_after, days_before,
                              email_template_id, sms_text, updated_at)
SELECT g, CASE WHEN g <= 5 THEN 'after' ELSE 'predicted' END, 30, 7, 4713,
       'Hallo {vorname}, Zeit für Nachschub?', now()
FROM generate_series(1, 10) g;
-- "after": orders of groups 1-5 placed 30-37 days ago (due now, up to LATE late)
CREATE TEMP TABLE after_order AS
SELECT 5000000 + i AS id, (i::bigint * 104729) %% %(customers)s + 1 AS customer_id,
       1 + i %% 5 AS g,
       now() - interval '30 days 1 hour' - (i %% 144) * interval '1 hour' AS at,
       random() AS r
FROM generate_series(1, %(reminders_after)s) i;
INSERT INTO customer_order (id, source, external_id, number, customer_id, company_id,
                            ordered_at, currency, net_total, state, updated_at)
SELECT id, 'bench', 'ra' || id, 'RA' || id, customer_id, 1 + customer_id %% 3, at, 'EUR',
       45, 'completed', now()
FROM after_order;
INSERT INTO order_line (order_id, line_no, sku, product_group_id, quantity, net_amount)
SELECT id, 1, 'P' || g || '-5', g, 1, 45 FROM after_order;
-- "predicted": the analysis's predictions for groups 6-10, their starting orders;
-- a quarter due now (overdue in the next 7 days), the rest later
CREATE TEMP TABLE predicted AS
SELECT 6000000 + i AS id, (i::bigint * 15485863 + 17) %% %(customers)s + 1 AS customer_id,
       6 + i %% 5 AS g,
       CASE WHEN i %% 4 = 0
            THEN now() + interval '1 hour' + (i %% 160) * interval '1 hour'
            ELSE now() + interval '7 days 1 hour' + (i %% 33) * interval '1 day' END
         AS overdue_from,
       random() AS r
FROM generate_series(1, %(reminders_predicted)s) i;
INSERT INTO customer_order (id, source, external_id, number, customer_id, company_id,
                            ordered_at, currency, net_total, state, updated_at)
SELECT id, 'bench', 'rp' || id, 'RP' || id, customer_id, 1 + customer_id %% 3,
       overdue_from - interval '46 days', 'EUR', 60, 'completed', now()
FROM predicted;
INSERT INTO order_line (order_id, line_no, sku, product_group_id, quantity, net_amount)
SELECT id, 1, 'P' || g || '-6', g, 1, 60 FROM predicted;
INSERT INTO reorder_due (customer_id, product_group_id, order_id, company_id,
                         last_order_at, expected_next_order, overdue_from)
SELECT DISTINCT ON (customer_id, g) customer_id, g, id, 1 + customer_id %% 3,
       overdue_from - interval '46 days', overdue_from - interval '16 days', overdue_from
FROM predicted ORDER BY customer_id, g, id;
-- since then: 5 %% ordered from the group again (skipped: ordered), 2 %% have an open
-- order of another group (skipped: open order)
INSERT INTO customer_order (id, source, external_id, number, customer_id, company_id,
                            ordered_at, currency, net_total, state, updated_at)
SELECT 2000000 + id, 'bench', 'rr' || id, 'RR' || id, customer_id, 1 + customer_id %% 3,
       now() - interval '3 days', 'EUR', 30,
       CASE WHEN r < 0.05 THEN 'completed' ELSE 'open' END, now()
FROM (SELECT id, customer_id, r FROM after_order
      UNION ALL SELECT id, customer_id, r FROM predicted) o
WHERE r < 0.07;
INSERT INTO order_line (order_id, line_no, sku, product_group_id, quantity, net_amount)
SELECT 2000000 + id, 1, 'P' || CASE WHEN r < 0.05 THEN g ELSE 1 + (g + 12) %% 30 END || '-7',
       CASE WHEN r < 0.05 THEN g ELSE 1 + (g + 12) %% 30 END, 1, 30
FROM (SELECT id, g, r FROM after_order UNION ALL SELECT id, g, r FROM predicted) o
WHERE r < 0.07;
""",
    ),
    (
        "sequences",
        """
SELECT setval(pg_get_serial_sequence(t, 'id'), (SELECT max(id) FROM customer_order))
FROM (VALUES ('customer_order')) v(t);
SELECT setval(pg_get_serial_sequence('recovery_case', 'id'), (SELECT max(id) FROM recovery_case));
SELECT setval(pg_get_serial_sequence('customer', 'id'), (SELECT max(id) FROM customer));
""",
    ),
]


def log(text: str, started: float) -> None:
    print(f"{time.perf_counter() - started:7.1f} s  {text}", flush=True)


def drop(db: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))


def recreate(db: str) -> str:
    drop(db)
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
    env = {"DATABASE_URL": url, "FLASK_APP": "wsgi", "PATH": "/usr/bin:/bin"}
    flask = [str(ROOT / ".venv" / "bin" / "flask"), "db", "upgrade"]
    subprocess.run(flask, check=True, cwd=ROOT, env=env, capture_output=True)
    return f"{SERVER}/{db}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=DB)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=5000, help="follow-ups due now")
    parser.add_argument(
        "--reminders-after", type=int, default=20000, help="orders 30 days ago (groups 1-5)"
    )
    parser.add_argument(
        "--reminders-predicted",
        type=int,
        default=40000,
        help="predictions of groups 6-10 (a quarter due now)",
    )
    parser.add_argument("--drop", action="store_true", help="only drop the database")
    args = parser.parse_args()
    if args.drop:
        drop(args.db)
        return
    started = time.perf_counter()
    url = recreate(args.db)
    log(f"database {args.db} created and migrated", started)
    params = {
        "customers": args.customers,
        "pairs": 200_000,
        "due": min(args.due, 10_000),
        "reminders_after": min(args.reminders_after, 900_000),
        "reminders_predicted": min(args.reminders_predicted, 900_000),
        "email": BENCH_EMAIL,
        "hash": generate_password_hash(BENCH_PASSWORD),
    }
    with psycopg.connect(url, cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for label, statements in STEPS:
            conn.execute(statements, params)
            conn.commit()
            log(label, started)
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE)")
        log("vacuum analyze", started)
    print(f"login: {BENCH_EMAIL} / {BENCH_PASSWORD}")


if __name__ == "__main__":
    main()

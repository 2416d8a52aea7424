"""Queue benchmark data: a shop with 1 M customers and 10 M order lines in PostgreSQL.

Creates the database afresh (``DROP … WITH (FORCE)``), builds the schema with the app's
migrations (``flask db upgrade``), then generates every table with numpy (fixed seed) and
loads it with ``COPY … FREEZE`` (psycopg3 ``cursor.copy``). Secondary indexes, unique and
foreign-key constraints are dropped for the load and rebuilt afterwards from their own
definitions, so the schema ends exactly as the migrations made it. Then VACUUM ANALYZE.

The shop: 3 companies, 30 product groups with 100 products each, three years of orders up
to ``--end`` (default today). Customers have a buying weight (gamma: a few heavy buyers),
an acquisition day, ~18 % stop buying, ~30 % buy much less in the last 12 months. Revenue
windows are computed from the generated orders; decline cases (≥ 30 % decline) get their
figures from them, statuses spread like a working team's queue: ``--cases`` ``new`` ones
plus reminders (half due), contacted, offer requested, no interest, recovered and closed,
with events by the assigned sales user. A bench login is created (see ``BENCH_EMAIL``).

    .venv/bin/python bench/queue/generate.py                      # 1 M / 10 M / 200 k
    .venv/bin/python bench/queue/generate.py --customers 100000 --lines 1000000 --cases 20000
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from werkzeug.security import generate_password_hash

ROOT = Path(__file__).resolve().parents[2]
SERVER = "postgresql://postgres@127.0.0.1:5432"
BENCH_EMAIL = "bench@bench.example"
BENCH_PASSWORD = "bench-sales-2026"  # noqa: S105 - a throwaway benchmark database
NULL = "\\N"
DAYS = 3 * 365 + 1
CHUNK = 1_000_000

COMPANIES = [
    ("Gartenwelt GmbH", "gartenwelt"),
    ("Hof & Feld Versand GmbH", "hofundfeld"),
    ("Profi-Gartenbedarf AG", "profigarten"),
]
GROUPS = [
    "Dünger", "Saatgut", "Rasen", "Pflanzenschutz", "Erden & Substrate", "Gartengeräte",
    "Bewässerung", "Töpfe & Kübel", "Gewächshaus", "Teich", "Vogelfutter", "Tierbedarf",
    "Grill", "Gartenmöbel", "Beleuchtung", "Werkzeug", "Arbeitskleidung", "Kompost",
    "Blumenzwiebeln", "Obstbäume", "Rosen", "Stauden", "Kräuter", "Hydrokultur", "Zäune",
    "Holzschutz", "Winterdienst", "Reinigung", "Deko", "Geschenke",
]  # fmt: skip
GRADES = ["Basic", "Classic", "Premium", "Profi", "Bio", "Eco", "Plus", "Select", "XL", "Mini"]
SIZES = ["1 kg", "2,5 kg", "5 kg", "10 kg", "20 kg", "1 l", "5 l", "10 Stk.", "50 Stk.", "Set"]
FIRST = [
    "Anna", "Bernd", "Claudia", "Dieter", "Eva", "Frank", "Gabriele", "Hans", "Ingrid", "Jürgen",
    "Katrin", "Lukas", "Maria", "Norbert", "Olga", "Peter", "Renate", "Stefan", "Tanja", "Uwe",
    "Vera", "Wolfgang", "Yvonne", "Zeynep", "Andreas", "Birgit", "Christian", "Doris", "Emil",
    "Fatma", "Günter", "Heike", "Ines", "Jan", "Karin", "Lena", "Michael", "Nicole", "Oliver",
    "Petra", "Ralf", "Sabine", "Thomas", "Ulrike", "Volker", "Werner", "Xenia", "Özlem",
    "Sören", "Jörg", "Björn", "Käthe", "Mehmet", "Sophie", "Leon", "Mia", "Paul", "Emma",
]  # fmt: skip
LAST = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt",
    "Werner", "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler",
    "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang",
    "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Vogel", "Friedrich", "Keller",
    "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke",
    "Albrecht", "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Krämer",
    "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt", "Haas",
    "Yılmaz", "Kaya", "Nowak", "Kowalski", "Rossi", "Özdemir", "Papadopoulos", "Dubois",
]  # fmt: skip
# Surnames: the common ones share 5 % of the customers (Zipf-like), a long tail of
# compound names the rest – so a search for "schmidt" finds a few thousand, as in life.
TAIL = [
    a + b
    for a in ["Acker", "Alt", "Bau", "Berg", "Birk", "Blum", "Brand", "Brenn", "Buch", "Dorn",
              "Eich", "Eng", "Feld", "Fink", "Fried", "Gold", "Grün", "Haber", "Hage", "Hart",
              "Heid", "Hell", "Hirsch", "Hol", "Horn", "Jung", "Kalk", "Kirch", "Klee", "Korn",
              "Kreuz", "Lind", "Mahl", "Mar", "Moos", "Neu", "Ober", "Ost", "Rein", "Ross",
              "Sand", "Schön", "Seel", "Sieg", "Tann", "Vogel", "Wald", "Weid", "Wies", "Zell"]
    for b in ["bach", "bauer", "berg", "brecht", "bruch", "dorf", "ecker", "feld", "hagen",
              "hammer", "hardt", "hauser", "heim", "hof", "holz", "horst", "huber", "kamp",
              "kemper", "lein", "mann", "meier", "reuter", "ried", "rott", "stedt", "thal",
              "wald", "wein", "werth", "wirth", "inger", "mayr", "ner", "ke", "er"]
]  # fmt: skip
COMMON_SHARE = 0.05
FIRMS = ["{} GmbH", "Gärtnerei {}", "{} & Söhne KG", "Landhandel {}", "{} Gartenbau", "{} e.K."]
CITIES = [
    ("Berlin", "DE", "30"), ("Hamburg", "DE", "40"), ("München", "DE", "89"), ("Köln", "DE", "221"),
    ("Frankfurt am Main", "DE", "69"), ("Stuttgart", "DE", "711"), ("Düsseldorf", "DE", "211"),
    ("Leipzig", "DE", "341"), ("Dortmund", "DE", "231"), ("Essen", "DE", "201"),
    ("Bremen", "DE", "421"), ("Dresden", "DE", "351"), ("Hannover", "DE", "511"),
    ("Nürnberg", "DE", "911"), ("Münster", "DE", "251"), ("Freiburg", "DE", "761"),
    ("Lüneburg", "DE", "4131"), ("Passau", "DE", "851"), ("Wien", "AT", "1"), ("Graz", "AT", "316"),
    ("Linz", "AT", "732"), ("Zürich", "CH", "44"), ("Bern", "CH", "31"), ("Basel", "CH", "61"),
]  # fmt: skip
CUSTOMER_GROUPS = [
    ("Endkunde", 0.55), ("Stammkunde", 0.15), ("Händler", 0.10), ("Gewerbe", 0.08),
    ("Großhandel", 0.04), ("Landwirtschaft", 0.03), ("Kommune", 0.02), ("Mitarbeiter", 0.01),
    (None, 0.02),
]  # fmt: skip
DOMAINS = ["web.de", "gmx.de", "gmail.com", "t-online.de", "outlook.de", "posteo.de", "gmx.at"]
SALES = ["Sven Sales", "Lisa Lorenz", "Tom Berger", "Nina Kraus", "Ali Kaya", "Jana Roth",
         "Marco Vogt", "Eva Stein", "Paul Haas", "Rita Otto", "Omar Simon", "Ute Lang"]  # fmt: skip
# Decline cases besides the ``new`` ones (--cases): status -> count per 200 000 new cases.
WORKED = {
    "reminder": 8_000, "contacted": 10_000, "offer_requested": 4_000,
    "no_interest": 6_000, "recovered": 7_000, "closed": 15_000,
}  # fmt: skip
OVERDUE_CASES = 30_000  # per 200 000 new decline cases; not in the queue lists, but in the table
LOADED = [
    "company", "product_group", "product", "user_account", "customer", "customer_order",
    "order_line", "recovery_case", "case_event", "do_not_contact",
]  # fmt: skip


def log(message: str, started: float) -> None:
    print(f"[{time.perf_counter() - started:7.1f} s] {message}", flush=True)


# ---------------------------------------------------------------- text columns for COPY


def ints(values: np.ndarray) -> list[str]:
    return list(map(str, values.tolist()))


def lookup(table: Sequence[str], index: np.ndarray) -> list[str]:
    """``table[index]`` as strings – fast for columns with few distinct values."""
    return np.asarray(table, dtype=object)[index].tolist()


def nullable(values: list[str], present: np.ndarray) -> list[str]:
    return [v if p else NULL for v, p in zip(values, present.tolist(), strict=True)]


def money(cents: np.ndarray) -> list[str]:
    cents = cents.astype(np.int64)
    sign = np.where(cents < 0, "-", "")
    whole, frac = np.divmod(np.abs(cents), 100)
    return [
        f"{s}{w}.{f:02d}"
        for s, w, f in zip(sign.tolist(), whole.tolist(), frac.tolist(), strict=True)
    ]


class Clock:
    """Times as seconds since the first day of the window; rendered as naive UTC text."""

    def __init__(self, end: date):
        self.start = datetime.combine(end - timedelta(days=DAYS), datetime.min.time())
        span = DAYS + 400  # room for reminders and no-interest dates in the future
        self.days = [f"{self.start + timedelta(days=d):%Y-%m-%d} " for d in range(-200, span)]
        self.clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]

    def text(self, seconds: np.ndarray) -> list[str]:
        day, second = np.divmod(seconds.astype(np.int64), 86400)
        days, clock = self.days, self.clock
        return [
            days[d + 200] + clock[s] for d, s in zip(day.tolist(), second.tolist(), strict=True)
        ]

    def iso_day(self, seconds: int) -> str:
        return (self.start + timedelta(seconds=int(seconds))).date().isoformat()


def rows(columns: Sequence[list[str]]) -> Iterable[str]:
    return map("\t".join, zip(*columns, strict=True))


# ---------------------------------------------------------------- database set-up


def recreate_database(name: str) -> str:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    env = {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": url, "RECOVERY_ENV": "development"}
    subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
        capture_output=True,
    )  # fmt: skip
    return f"{SERVER}/{name}"


def detach_constraints(conn: psycopg.Connection) -> list[str]:
    """Drop secondary indexes, unique and foreign keys of the loaded tables; return the DDL
    that recreates them exactly (indexes first, then unique, then foreign keys)."""
    tables = LOADED
    found = conn.execute(
        """
        SELECT format('ALTER TABLE %%I ADD CONSTRAINT %%I %%s', c.conrelid::regclass::text,
                      c.conname, pg_get_constraintdef(c.oid)),
               format('ALTER TABLE %%I DROP CONSTRAINT %%I', c.conrelid::regclass::text, c.conname),
               c.contype
        FROM pg_constraint c
        WHERE c.contype IN ('u', 'f')
          AND (c.conrelid::regclass::text = ANY(%s) OR c.confrelid::regclass::text = ANY(%s))
        """,
        (tables, tables),
    ).fetchall()
    indexes = conn.execute(
        """
        SELECT pg_get_indexdef(i.indexrelid), format('DROP INDEX %%I', i.indexrelid::regclass::text)
        FROM pg_index i
        WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """,
        (tables,),
    ).fetchall()
    for _, drop, _kind in sorted(found, key=lambda r: r[2]):  # 'f' before 'u'
        conn.execute(drop)
    for _, drop in indexes:
        conn.execute(drop)
    conn.commit()
    unique = [add for add, _, kind in found if kind == "u"]
    foreign = [add for add, _, kind in found if kind == "f"]
    return [create for create, _ in indexes] + unique + foreign


def copy(conn: psycopg.Connection, table: str, columns: Sequence[str], lines: Iterable[str]):
    """TRUNCATE and COPY FREEZE in one transaction: no hint-bit rewrite, all-visible pages."""
    started = time.perf_counter()
    count = 0
    with conn.transaction():
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(table)))
        stmt = sql.SQL("COPY {} ({}) FROM STDIN WITH (FREEZE)").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        cur = conn.cursor()
        with cur.copy(stmt, writer=QueuedLibpqWriter(cur)) as out:
            batch: list[str] = []
            for line in lines:
                batch.append(line)
                if len(batch) == 100_000:
                    out.write("\n".join(batch) + "\n")
                    count += len(batch)
                    batch = []
            if batch:
                out.write("\n".join(batch) + "\n")
                count += len(batch)
    print(f"    {table}: {count:,} rows in {time.perf_counter() - started:.1f} s", flush=True)


def chunked(n: int, make) -> Iterable[str]:
    """Lines of ``make(lo, hi)`` chunk by chunk, so the text of 10 M rows never sits in RAM."""
    for lo in range(0, n, CHUNK):
        yield from make(lo, min(lo + CHUNK, n))


# ---------------------------------------------------------------- the shop


class Shop:
    def __init__(self, args: argparse.Namespace):
        self.rng = np.random.default_rng(args.seed)
        self.n_customers = args.customers
        self.n_lines = args.lines
        self.n_orders = int(args.lines / 2.9)
        self.n_new = args.cases
        self.clock = Clock(args.end)
        self.now = DAYS * 86400  # seconds: midnight at the end of the window
        self.password_hash = generate_password_hash(BENCH_PASSWORD)

    # -- customers and their buying behaviour
    def customers(self) -> None:
        rng, n = self.rng, self.n_customers
        existing = rng.random(n) < 0.45
        self.acquired = np.where(existing, 0, rng.integers(0, DAYS - 45, n))
        stops = rng.random(n) < 0.18
        self.stop = np.where(
            stops, self.acquired + (rng.random(n) * (DAYS - self.acquired)).astype(int), DAYS
        )
        self.stop = np.maximum(self.stop, self.acquired + 1)
        decliner = rng.random(n) < 0.30
        self.last_year_factor = np.where(
            decliner, rng.uniform(0.05, 0.65, n), rng.uniform(0.8, 1.3, n)
        )
        self.company = rng.choice(3, n, p=[0.5, 0.3, 0.2])
        self.b2b = rng.random(n) < 0.25
        self.favourite = rng.integers(0, 30, n)
        self.group = rng.choice(len(CUSTOMER_GROUPS), n, p=[p for _, p in CUSTOMER_GROUPS])
        self.group[self.b2b & (self.group == 0)] = 3  # businesses are seldom "Endkunde"

    def orders(self) -> None:
        rng, n, n_orders = self.rng, self.n_customers, self.n_orders
        year_start = DAYS - 365
        early = np.clip(np.minimum(self.stop, year_start) - self.acquired, 0, None)
        late = np.clip(self.stop - np.maximum(self.acquired, year_start), 0, None)
        weight = (
            rng.gamma(0.7, 1.0, n) * (1 + 2 * self.b2b) * (early + self.last_year_factor * late)
        )
        customer = np.concatenate(
            [np.arange(n), rng.choice(n, n_orders - n, p=weight / weight.sum())]
        )
        # a customer's orders fall into her active span; in the last year at her factor
        a, s = self.acquired[customer], self.stop[customer]
        e, lt = early[customer], late[customer] * self.last_year_factor[customer]
        in_late = rng.random(n_orders) * (e + lt) >= e
        lo = np.where(in_late, np.maximum(a, year_start), a)
        hi = np.where(in_late, s, np.minimum(s, year_start))
        hi = np.maximum(hi, lo + 1)
        day = lo + (rng.random(n_orders) * (hi - lo)).astype(np.int64)
        second = day * 86400 + rng.integers(6 * 3600, 22 * 3600, n_orders)
        order = np.argsort(second, kind="stable")  # ids in time order, like a real shop
        self.o_customer = customer[order]
        self.o_time = second[order]
        self.o_company = np.where(
            rng.random(n_orders) < 0.9, self.company[self.o_customer], rng.integers(0, 3, n_orders)
        )
        state = rng.choice(4, n_orders, p=[0.94, 0.01, 0.03, 0.02])  # completed open canc. ret.
        recent = self.o_time >= self.now - 30 * 86400
        state[(state == 1) & ~recent] = 0
        state[recent & (rng.random(n_orders) < 0.15)] = 1
        self.o_state = state

    def lines(self) -> None:
        rng, n_orders, n_lines = self.rng, self.n_orders, self.n_lines
        self.l_order = np.sort(
            np.concatenate([np.arange(n_orders), rng.integers(0, n_orders, n_lines - n_orders)])
        )
        starts = np.searchsorted(self.l_order, np.arange(n_orders))
        self.l_no = np.arange(n_lines) - starts[self.l_order] + 1
        fav = self.favourite[self.o_customer[self.l_order]]
        group = np.where(rng.random(n_lines) < 0.65, fav, rng.integers(0, 30, n_lines))
        self.l_product = group * 100 + rng.integers(0, 100, n_lines)
        qty = np.minimum(rng.geometric(0.55, n_lines), 10)
        b2b = self.b2b[self.o_customer[self.l_order]]
        qty = np.where(b2b, np.minimum(qty * 3, 30), qty)
        self.l_qty = qty
        self.price = (np.exp(rng.normal(2.6, 0.8, 3000)).astype(np.int64) + 1) * 100 - 1
        net = self.price[self.l_product] * qty
        self.l_net = net
        self.o_net = np.bincount(self.l_order, weights=net, minlength=n_orders).astype(np.int64)
        self.o_gross = np.round(self.o_net * 1.19).astype(np.int64)

    # -- the analysis' view: revenue windows per customer
    def windows(self) -> None:
        n = self.n_customers
        counts = np.isin(self.o_state, (0, 1))
        year = self.now - 365 * 86400
        cur = counts & (self.o_time >= year)
        ref = counts & (self.o_time < year) & (self.o_time >= year - 365 * 86400)
        c = self.o_customer
        self.current = np.bincount(c[cur], weights=self.o_net[cur], minlength=n).astype(np.int64)
        self.reference = np.bincount(c[ref], weights=self.o_net[ref], minlength=n).astype(np.int64)
        self.n_counted = np.bincount(c[counts], minlength=n)
        # orders are in time order, so the last index per customer is the last order
        last = np.full(n, -1, dtype=np.int64)
        idx = np.flatnonzero(counts)
        np.maximum.at(last, c[idx], idx)
        self.last_order = last

    def cases(self) -> None:
        rng, n = self.rng, self.n_customers
        scale = self.n_new / 200_000
        worked = {k: int(v * scale) for k, v in WORKED.items()}
        ref = self.reference.astype(float)
        pct = np.where(ref > 0, (ref - self.current) / np.maximum(ref, 1) * 100, 0.0)
        candidates = np.flatnonzero((ref > 0) & (pct >= 30) & (self.last_order >= 0))
        needed = self.n_new + sum(worked.values())
        if len(candidates) < needed:
            sys.exit(f"only {len(candidates):,} declining customers for {needed:,} cases")
        last_time = self.o_time[self.last_order]
        recent = candidates[last_time[candidates] >= self.now - 60 * 86400]
        recovered = rng.choice(recent, min(worked["recovered"], len(recent)), replace=False)
        rest = rng.permutation(np.setdiff1d(candidates, recovered))
        statuses, customers = ["recovered"] * len(recovered), [recovered]
        at = 0
        for status, count in [("new", self.n_new)] + [
            (k, v) for k, v in worked.items() if k != "recovered"
        ]:
            customers.append(rest[at : at + count])
            statuses += [status] * count
            at += count
        cust = np.concatenate(customers)
        status = np.array(statuses, dtype=object)
        m = len(cust)
        self.c_customer, self.c_status, self.c_kind = cust, status, np.full(m, "decline", object)
        self.c_pct = np.round(pct[cust], 1)
        self.c_ref, self.c_cur = self.reference[cust], self.current[cust]
        self.c_p_churn = np.round(
            np.clip(0.2 + 0.7 * self.c_pct / 100 + rng.normal(0, 0.08, m), 0.05, 0.99), 3
        )
        self.c_risk = np.round(self.c_p_churn * self.c_ref).astype(np.int64)
        last = self.last_order[cust]
        self.c_last = self.o_time[last]
        self.c_company = self.o_company[last]
        interval = DAYS * 86400 // np.maximum(self.n_counted[cust], 1)
        self.c_expected = self.c_last + np.minimum(interval, 400 * 86400)
        self.c_opened = self.now - rng.integers(1, 90 * 86400, m)
        is_rec = status == "recovered"
        self.c_opened[is_rec] = self.c_last[is_rec] - rng.integers(86400, 40 * 86400, is_rec.sum())
        closed = np.isin(status, ("no_interest", "recovered", "closed"))
        self.c_closed = np.where(
            is_rec, self.c_last, self.c_opened + rng.integers(3600, 20 * 86400, m)
        )
        self.c_closed = np.where(closed, np.minimum(self.c_closed, self.now - 60), -1)
        self.c_recovered_order = np.where(is_rec, last, -1)
        reminder = status == "reminder"
        due = rng.random(m) < 0.5
        remind_day = np.where(due, -rng.integers(0, 10, m), rng.integers(1, 30, m))
        self.c_remind = np.where(reminder, (DAYS + remind_day) * 86400 - 3600, -1)
        users = len(SALES)
        assigned = (status != "new") & (status != "closed") | (rng.random(m) < 0.05)
        self.c_assigned = np.where(assigned, rng.integers(0, users, m), -1)
        self.no_interest_until = np.full(n, -1, dtype=np.int64)
        ni = status == "no_interest"
        self.no_interest_until[cust[ni]] = self.c_closed[ni] + 180 * 86400
        # overdue-by-rhythm cases: open, in the table but not in the decline lists
        k = int(OVERDUE_CASES * scale)
        self.overdue_customer = rng.choice(n, k, replace=False)
        self.overdue_group = self.favourite[self.overdue_customer]

    def build(self, started: float) -> None:
        self.customers()
        self.orders()
        self.lines()
        self.windows()
        self.cases()
        log(f"generated in memory: {self.n_orders:,} orders, {len(self.c_customer):,} decline "
            f"cases, {len(self.overdue_customer):,} overdue cases", started)  # fmt: skip

    # ------------------------------------------------------------ tables as COPY text
    def company_rows(self) -> Iterable[str]:
        created = self.clock.text(np.array([0]))[0]
        for i, (name, slug) in enumerate(COMPANIES, start=1):
            yield "\t".join([
                str(i), name, f"service@{slug}.example", name, str(6100000 + 10 * i),
                str(6100001 + 10 * i), f"angebote@{slug}.example", slug[:11],
                f"https://www.{slug}.example", created,
            ])  # fmt: skip

    def group_rows(self) -> Iterable[str]:
        created = self.clock.text(np.array([0]))[0]
        for i, name in enumerate(GROUPS, start=1):
            yield f"{i}\t{name}\t{NULL}\t{created}"

    def product_names(self) -> list[tuple[str, str]]:
        return [
            (f"WG{g + 1:02d}-{p:04d}", f"{GROUPS[g]} {GRADES[p % 10]} {SIZES[p // 10]}")
            for g in range(30)
            for p in range(100)
        ]

    def product_rows(self) -> Iterable[str]:
        for i, (sku, name) in enumerate(self.product_names()):
            yield f"{i + 1}\tjtl\t{sku}\t{name}\t{i // 100 + 1}"

    def user_rows(self) -> Iterable[str]:
        created = self.clock.text(np.array([0]))[0]
        users = [("admin@bench.example", "Anna Admin", "admin", NULL)]
        users += [("bench@bench.example", "Bench Sales", "sales", NULL)]
        for i, name in enumerate(SALES):
            company = str(i % 3 + 1) if i >= len(SALES) - 2 else NULL
            users.append((f"sales{i + 1}@bench.example", name, "sales", company))
        for i, (email, name, role, company) in enumerate(users, start=1):
            yield "\t".join([
                str(i), email, name, self.password_hash, role, "de", company, "t",
                secrets.token_urlsafe(32), NULL,
                created,
            ])  # fmt: skip

    def sales_user_id(self, index: np.ndarray) -> np.ndarray:
        return index + 3  # user ids: 1 admin, 2 bench, 3… the sales team

    def customer_rows(self, lo: int, hi: int) -> Iterable[str]:
        rng = np.random.default_rng([self.rng.bit_generator.seed_seq.entropy, lo])
        k = hi - lo
        ids = np.arange(lo + 1, hi + 1)
        first = lookup(FIRST, rng.integers(0, len(FIRST), k))
        zipf = 1 / np.arange(3, len(LAST) + 3)
        common = rng.choice(len(LAST), k, p=zipf / zipf.sum())
        tail = len(LAST) + rng.integers(0, len(TAIL), k)
        last = lookup(LAST + TAIL, np.where(rng.random(k) < COMMON_SHARE, common, tail))
        b2b = self.b2b[lo:hi]
        firm_i = rng.integers(0, len(FIRMS), k).tolist()
        firm = [
            FIRMS[f].format(name) if b else NULL
            for f, name, b in zip(firm_i, last, b2b.tolist(), strict=True)
        ]
        plain = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i", "ç": "c"})
        domain = lookup(DOMAINS, rng.integers(0, len(DOMAINS), k))
        email = [
            f"{f}.{la}{i % 997}@{d}".lower().translate(plain) if has else NULL
            for f, la, i, d, has in zip(
                first, last, ids.tolist(), domain, (rng.random(k) < 0.88).tolist(), strict=True
            )
        ]
        city_i = rng.integers(0, len(CITIES), k)
        prefix = [CITIES[c][2] for c in city_i.tolist()]
        phone = [
            f"+49 {p} {n}"
            for p, n in zip(prefix, rng.integers(100000, 9999999, k).tolist(), strict=True)
        ]
        mobile = nullable(
            [f"+49 15{n // 10**8} {n % 10**8:08d}" for n in rng.integers(10**8, 10**9, k).tolist()],
            rng.random(k) < 0.6,
        )
        consent = lookup(["t", "f", NULL], rng.choice(3, k, p=[0.6, 0.15, 0.25]))
        groups = lookup([g or NULL for g, _ in CUSTOMER_GROUPS], self.group[lo:hi])
        created = self.clock.text(self.acquired[lo:hi] * 86400 + 36000)
        updated = self.clock.text(np.full(k, self.now - 3 * 86400))
        until = self.no_interest_until[lo:hi]
        no_interest = nullable(self.clock.text(np.maximum(until, 0)), until >= 0)
        return rows([
            ints(ids), ["jtl"] * k, ints(ids), [f"K{100000 + i}" for i in ids.tolist()],
            first, last, firm, email, phone, mobile, lookup([c[0] for c in CITIES], city_i),
            lookup([c[1] for c in CITIES], city_i), groups, consent, ["de"] * k, no_interest,
            created, updated,
        ])  # fmt: skip

    CUSTOMER_COLUMNS = [
        "id", "source", "external_id", "number", "first_name", "last_name", "company_name",
        "email", "phone", "mobile", "city", "country", "customer_group", "marketing_consent",
        "locale", "no_interest_until", "created_at", "updated_at",
    ]  # fmt: skip

    def order_rows(self, lo: int, hi: int) -> Iterable[str]:
        ids = ints(np.arange(lo + 1, hi + 1))
        times = self.clock.text(self.o_time[lo:hi])
        states = lookup(["completed", "open", "cancelled", "returned"], self.o_state[lo:hi])
        return rows([
            ids, ["jtl"] * (hi - lo), ids, [f"AU{i:08d}" for i in range(lo + 1, hi + 1)],
            ints(self.o_customer[lo:hi] + 1), ints(self.o_company[lo:hi] + 1), times,
            ["EUR"] * (hi - lo), money(self.o_net[lo:hi]), money(self.o_gross[lo:hi]), states,
            times,
        ])  # fmt: skip

    ORDER_COLUMNS = [
        "id", "source", "external_id", "number", "customer_id", "company_id", "ordered_at",
        "currency", "net_total", "gross_total", "state", "updated_at",
    ]  # fmt: skip

    def line_rows(self, lo: int, hi: int) -> Iterable[str]:
        # every (product, quantity) pair has one text tail: sku … gross
        if not hasattr(self, "_tails"):
            names = self.product_names()
            qty = np.arange(31)
            net = np.outer(self.price, qty)
            gross = np.round(net * 1.19).astype(np.int64)
            net_t, gross_t = money(net.ravel()), money(gross.ravel())
            self._tails = [
                f"{names[p][0]}\t{names[p][1]}\t{p // 100 + 1}\t{q}\t{net_t[p * 31 + q]}\t"
                f"{gross_t[p * 31 + q]}"
                for p in range(3000)
                for q in range(31)
            ]
        tails = lookup(self._tails, self.l_product[lo:hi] * 31 + self.l_qty[lo:hi])
        return rows([
            ints(np.arange(lo + 1, hi + 1)), ints(self.l_order[lo:hi] + 1), ints(self.l_no[lo:hi]),
            tails,
        ])  # fmt: skip

    LINE_COLUMNS = [
        "id", "order_id", "line_no", "sku", "product_name", "product_group_id", "quantity",
        "net_amount", "gross_amount",
    ]  # fmt: skip

    def case_rows(self) -> Iterable[str]:
        m = len(self.c_customer)
        t = self.clock.text
        ref, cur = money(self.c_ref), money(self.c_cur)
        params = [
            json.dumps({
                "current_revenue": c / 100, "reference_revenue": r / 100, "decline_pct": p,
                "window_months": 12, "comparison": "previous_period", "currency": "EUR",
            })
            for c, r, p in zip(
                self.c_cur.tolist(), self.c_ref.tolist(), self.c_pct.tolist(), strict=True
            )
        ]  # fmt: skip
        text = [
            f"Umsatz der letzten 12 Monate {c.replace('.', ',')} € statt {r.replace('.', ',')} € "
            f"in den 12 Monaten davor (−{round(p)} %)"
            for c, r, p in zip(cur, ref, self.c_pct.tolist(), strict=True)
        ]
        closed = self.c_closed >= 0
        rec = self.c_recovered_order >= 0
        remind = self.c_remind >= 0
        assigned = self.c_assigned >= 0
        analysed = t(np.full(m, self.now - 86400 + 3 * 3600))
        yield from rows([
            ints(np.arange(1, m + 1)), ints(self.c_customer + 1), ["decline"] * m,
            ["decline"] * m, [NULL] * m, ints(self.c_company + 1), self.c_status.tolist(),
            t(self.c_opened), nullable(t(np.maximum(self.c_closed, 0)), closed), ["decline"] * m,
            params, text, ref, cur, list(map(repr, self.c_pct.tolist())), money(self.c_risk),
            list(map(repr, self.c_p_churn.tolist())), t(self.c_last), t(self.c_expected),
            nullable(t(np.maximum(self.c_remind, 0)), remind),
            nullable(ints(self.sales_user_id(self.c_assigned)), assigned), [NULL] * m, [NULL] * m,
            nullable(t(np.maximum(self.c_closed, 0)), rec),
            nullable(money(self.o_net[np.maximum(self.c_recovered_order, 0)]), rec),
            nullable(ints(self.c_recovered_order + 1), rec), analysed, analysed,
        ])  # fmt: skip
        k = len(self.overdue_customer)
        group = self.overdue_group + 1
        opened = t(self.now - self.rng.integers(1, 60 * 86400, k))
        yield from rows([
            ints(np.arange(m + 1, m + k + 1)), ints(self.overdue_customer + 1),
            [f"overdue:{g}" for g in group.tolist()], ["overdue"] * k, ints(group),
            ints(self.company[self.overdue_customer] + 1), ["new"] * k, opened, [NULL] * k,
            [NULL] * k, ["{}"] * k, ["Bestellt diese Warengruppe sonst regelmäßig"] * k,
            [NULL] * k, [NULL] * k, [NULL] * k, [NULL] * k, [NULL] * k, [NULL] * k, [NULL] * k,
            [NULL] * k, [NULL] * k, [NULL] * k, [NULL] * k, [NULL] * k, [NULL] * k, [NULL] * k,
            analysed[:k], analysed[:k],
        ])  # fmt: skip

    CASE_COLUMNS = [
        "id", "customer_id", "key", "kind", "product_group_id", "company_id", "status",
        "opened_at", "closed_at", "reason_key", "reason_params", "reason_text",
        "reference_revenue", "current_revenue", "decline_pct", "revenue_at_risk", "p_churn",
        "last_order_at", "expected_next_order", "remind_at", "assigned_user_id", "claimed_by_id",
        "claimed_until", "recovered_at", "recovered_revenue", "recovered_order_id",
        "analysed_at", "updated_at",
    ]  # fmt: skip

    def event_rows(self) -> Iterable[str]:
        """An ``opened`` event per decline case, the worked ones' action, some notes."""
        rng, t = self.rng, self.clock.text
        m = len(self.c_customer)
        case_id = np.arange(1, m + 1)
        events = [(case_id, np.full(m, -1), ["opened"] * m, self.c_opened, ["{}"] * m, [NULL] * m)]
        actions = {
            "reminder": "remind", "contacted": "email", "offer_requested": "offer",
            "no_interest": "no_interest", "recovered": "recovered",
        }  # fmt: skip
        for status, kind in actions.items():
            idx = np.flatnonzero(self.c_status == status)
            if status in ("no_interest", "recovered"):
                when = self.c_closed[idx]
            else:
                when = self.c_opened[idx] + rng.integers(600, 5 * 86400, len(idx))
            when = np.minimum(when, self.now - 60)
            data = {
                "remind": lambda i: {"remind_on": self.clock.iso_day(self.c_remind[i])},
                "email": lambda i: {"template_kind": "standard"},
                "offer": lambda i: {},
                "no_interest": lambda i: {"days": 180},
                "recovered": lambda i: {"order": f"AU{self.c_recovered_order[i] + 1:08d}"},
            }[kind]
            user = np.where(kind == "recovered", -1, self.c_assigned[idx])
            text = [NULL] * len(idx)
            if kind == "offer":
                text = ["Bitte Staffelpreis für die Frühjahrsbestellung"] * len(idx)
            events.append(
                (idx + 1, user, [kind] * len(idx), when, [json.dumps(data(i)) for i in idx], text)
            )
        worked = np.flatnonzero((self.c_assigned >= 0) & (rng.random(m) < 0.4))
        notes = ["Ruft nächste Woche zurück", "Hat zur Konkurrenz gewechselt?",
                 "Lager ist noch voll", "Neuer Einkäufer, Ansprechpartner geändert"]  # fmt: skip
        events.append((
            worked + 1, self.c_assigned[worked], ["note"] * len(worked),
            np.minimum(self.c_opened[worked] + rng.integers(600, 3 * 86400, len(worked)),
                       self.now - 60),
            ["{}"] * len(worked), lookup(notes, rng.integers(0, len(notes), len(worked))),
        ))  # fmt: skip
        next_id = 1
        for case, user, kind, when, data, text in events:
            k = len(case)
            users = nullable(ints(self.sales_user_id(np.maximum(user, 0))), user >= 0)
            yield from rows([
                ints(np.arange(next_id, next_id + k)), ints(case), users, kind, text, data,
                [NULL] * k, t(when),
            ])  # fmt: skip
            next_id += k

    EVENT_COLUMNS = ["id", "case_id", "user_id", "kind", "text", "data", "form_token", "created_at"]

    def dnc_rows(self) -> Iterable[str]:
        rng = self.rng
        chosen = np.flatnonzero(rng.random(self.n_customers) < 0.025)
        reason = lookup(
            ["unsubscribed", "hard_bounce", "spam"], rng.choice(3, len(chosen), p=[0.8, 0.17, 0.03])
        )
        created = self.clock.text(self.now - rng.integers(86400, DAYS * 86400, len(chosen)))
        k = len(chosen)
        return rows(
            [
                ints(np.arange(1, k + 1)),
                ints(chosen + 1),
                ["email"] * k,
                reason,
                [NULL] * k,
                created,
            ]
        )

    DNC_COLUMNS = ["id", "customer_id", "channel", "reason", "note", "created_at"]


def load(url: str, shop: Shop, started: float) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        recreate = detach_constraints(conn)
        copy(conn, "company", ["id", "name", "sender_email", "sender_name", "standard_template_id",
             "voucher_template_id", "offer_email", "sms_sender", "shop_url", "created_at"],
             shop.company_rows())  # fmt: skip
        copy(conn, "product_group", ["id", "name", "default_interval_days", "created_at"],
             shop.group_rows())  # fmt: skip
        copy(
            conn,
            "product",
            ["id", "source", "sku", "name", "product_group_id"],
            shop.product_rows(),
        )
        copy(conn, "user_account", ["id", "email", "name", "password_hash", "role", "locale",
             "company_id", "is_active_user", "session_token", "last_login_at",
             "created_at"], shop.user_rows())  # fmt: skip
        copy(conn, "customer", shop.CUSTOMER_COLUMNS, chunked(shop.n_customers, shop.customer_rows))
        copy(conn, "customer_order", shop.ORDER_COLUMNS, chunked(shop.n_orders, shop.order_rows))
        copy(conn, "order_line", shop.LINE_COLUMNS, chunked(shop.n_lines, shop.line_rows))
        copy(conn, "recovery_case", shop.CASE_COLUMNS, shop.case_rows())
        copy(conn, "case_event", shop.EVENT_COLUMNS, shop.event_rows())
        copy(conn, "do_not_contact", shop.DNC_COLUMNS, shop.dnc_rows())
        log("copied", started)
        for ddl in recreate:
            conn.execute(ddl)
            conn.commit()
        log(f"rebuilt {len(recreate)} indexes and constraints", started)
        for table in LOADED:
            conn.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({t}, 'id'), max(id)) FROM {i}"
                ).format(t=sql.Literal(table), i=sql.Identifier(table))
            )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE)")
        log("vacuum analyze", started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="recovery_bench")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--cases", type=int, default=200_000, help="open decline cases, new")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--end", type=date.fromisoformat, default=datetime.now(UTC).date(),
                        help="last day of the order history (default today)")  # fmt: skip
    parser.add_argument("--drop", action="store_true", help="only drop the database")
    args = parser.parse_args()
    if args.drop:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(args.db)))
        return
    started = time.perf_counter()
    url = recreate_database(args.db)
    log(f"database {args.db} created and migrated", started)
    shop = Shop(args)
    shop.build(started)
    load(url, shop, started)
    print(f"login: {BENCH_EMAIL} / {BENCH_PASSWORD}")
    print(f"generation took {time.perf_counter() - started:.0f} s in total")


if __name__ == "__main__":
    main()

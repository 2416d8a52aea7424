"""A realistic German demo business, written as one flat WaWi order-line export (CSV).

``generate_demo_export`` writes the file a user of a German merchandise system (WaWi) would
export: UTF-8 with BOM, ``;`` separated, CRLF, German decimals (``1.234,56``) and dates
(``dd.mm.yyyy``), one row per order line with the customer columns repeated. The demo is
loaded through the product's CSV connector, the same code path as a user's file.

The same ``seed``, ``as_of`` and ``customers`` always give the same bytes.

Run ``python -m recovery.demo.generator out.csv [--as-of 2025-06-30] [--seed 42]``.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from . import data
from .catalog import GROUP_INDEX, PRODUCTS, PRODUCTS_BY_GROUP, Catalog
from .history import CANCELLED, OPEN, RETURNED, History, Order, Profile
from .people import Person, make_people

HEADER: tuple[str, ...] = (
    "Kundennummer", "Vorname", "Nachname", "Firmenname", "E-Mail", "Telefon", "Mobil", "Ort",
    "Land", "Kundengruppe", "Newsletter", "Auftragsnummer", "Belegdatum", "Firma", "Status",
    "Artikelnummer", "Artikelname", "Warengruppe", "Menge", "Netto", "Brutto",
)  # fmt: skip

# Share of customers per archetype; what each one promises is in ARCHETYPE_LABELS and
# in the builders of ``history.History``.
ARCHETYPE_SHARES: dict[str, float] = {
    "regular": 0.23,
    "one_time": 0.18,
    "occasional": 0.16,
    "stopped": 0.13,
    "decliner": 0.11,
    "new": 0.08,
    "open_order": 0.05,
    "big_b2b": 0.01,
    "seasonal": 0.05,
}
ARCHETYPES = tuple(ARCHETYPE_SHARES)
ARCHETYPE_LABELS: dict[str, str] = {
    "regular": "Stammkunde mit festem Bestellrhythmus, Umsatz stabil",
    "one_time": "Einmalkäufer (eine Bestellung, älter als 6 Monate)",
    "occasional": "Gelegenheitskäufer ohne festen Rhythmus",
    "stopped": "Abgewandert: regelmäßig bestellt, letzte Bestellung vor 4-20 Monaten",
    "decliner": "Umsatzrückgang: letzte 12 Monate mindestens 30 % unter den 12 davor",
    "new": "Neukunde: erste Bestellung in den letzten 6 Monaten",
    "open_order": "Offener Auftrag aus den letzten 3 Wochen",
    "big_b2b": "Großkunde (B2B) mit hohem, stabilem Umsatz",
    "seasonal": (
        "Saisonkunde: bestellt in jeder Saison und nur dann, Garten März–Juni oder "
        "Weihnachten November–Dezember"
    ),
}
SEASON_SHARES = (("garden", 0.6), ("christmas", 0.4))
RHYTHMIC = frozenset({"regular", "big_b2b", "decliner", "stopped", "open_order"})
MIN_CUSTOMERS = 50
SHARE_BUSINESS = 0.30
BUSINESS_KINDS = (("Händler", 0.60), ("Gastronomie", 0.32), ("Großkunde", 0.08))


@dataclass(frozen=True, slots=True)
class _Kind:
    companies: tuple[int, int]  # indexes into data.COMPANIES: usual company, the other one
    primary_share: float
    scale: tuple[float, float]
    price_factor: float
    extra_rate: float
    core_counts: tuple[int, ...]
    interval_mu: float  # log-factor on the group's typical interval


KINDS: dict[str, _Kind] = {
    "Endkunde": _Kind((0, 2), 0.80, (1.0, 1.0), 1.00, 0.8, (1, 1, 2), 0.40),
    "Händler": _Kind((1, 0), 0.65, (3.0, 7.0), 0.80, 1.4, (2, 2, 3), -0.15),
    "Gastronomie": _Kind((2, 0), 0.55, (1.5, 3.5), 0.92, 0.9, (1, 2, 2), -0.25),
    "Großkunde": _Kind((1, 0), 0.80, (6.0, 12.0), 0.75, 2.0, (2, 3, 4), -0.30),
}


@dataclass(slots=True)
class DemoStats:
    """What the generated file contains, for the app to show and the tests to assert."""

    as_of: date
    seed: int
    customers: int
    orders: int
    lines: int
    companies: int
    product_groups: int
    products: int
    archetypes: dict[str, int]  # archetype -> number of customers
    first_order_date: date
    last_order_date: date
    net_total: Decimal  # all lines, every status
    open_orders: int
    cancelled_orders: int
    returned_orders: int
    customers_without_email: int
    customers_without_mobile: int
    customers_without_consent: int
    multi_company_customers: int
    company_names: tuple[str, ...]
    # Kundennummer -> archetype
    customer_archetypes: dict[str, str] = field(default_factory=dict, repr=False)

    def summary(self) -> str:
        parts = [
            f"{self.customers} customers, {self.orders} orders, {self.lines} lines, "
            f"{self.companies} companies, {self.product_groups} product groups, "
            f"{self.products} products",
            f"orders from {self.first_order_date:%d.%m.%Y} to {self.last_order_date:%d.%m.%Y}"
            f" (as of {self.as_of:%d.%m.%Y}), net {german_amount(int(self.net_total * 100))} €",
            "archetypes: " + ", ".join(f"{k} {v}" for k, v in self.archetypes.items()),
        ]
        return "\n".join(parts)


def german_amount(cents: int) -> str:
    """``123456`` -> ``'1.234,56'``."""
    euros, rest = divmod(cents, 100)
    return f"{euros:,}".replace(",", ".") + f",{rest:02d}"


def _allocate(rnd: random.Random, n: int) -> list[str]:
    counts = {a: max(1, math.floor(share * n)) for a, share in ARCHETYPE_SHARES.items()}
    counts["regular"] += n - sum(counts.values())
    archetypes = [a for a, c in counts.items() for _ in range(c)]
    rnd.shuffle(archetypes)
    return archetypes


def _assign_kinds(rnd: random.Random, archetypes: list[str]) -> list[str]:
    kinds = ["Großkunde" if a == "big_b2b" else "Endkunde" for a in archetypes]
    others = [i for i, a in enumerate(archetypes) if a != "big_b2b"]
    n_business = max(0, round(SHARE_BUSINESS * len(archetypes)) - (len(archetypes) - len(others)))
    names, weights = zip(*BUSINESS_KINDS, strict=True)
    for i in sorted(rnd.sample(others, n_business)):
        kinds[i] = rnd.choices(names, weights=weights)[0]
    return kinds


def _make_profile(rnd: random.Random, archetype: str, kind: str) -> Profile:
    k = KINDS[kind]
    primary, other = k.companies if rnd.random() < k.primary_share else k.companies[::-1]
    big = archetype == "big_b2b"
    companies = (primary, other) if rnd.random() < (0.4 if big else 0.15) else (primary,)
    prefs = data.GROUP_PREFERENCES[kind]

    def weighted(groups: list[int]) -> int:
        return rnd.choices(groups, weights=[prefs[data.GROUPS[g].code] for g in groups])[0]

    primary_groups = [GROUP_INDEX[c] for c in data.COMPANIES[primary].groups]
    sellable = sorted({GROUP_INDEX[c] for i in companies for c in data.COMPANIES[i].groups})
    chosen = [weighted([g for g in primary_groups if data.GROUPS[g].interval <= 100])]
    n_core = rnd.randint(3, 5) if big else rnd.choice(k.core_counts)
    while len(chosen) < n_core:
        chosen.append(weighted([g for g in sellable if g not in chosen]))
    core = [
        (g, max(10.0, data.GROUPS[g].interval * math.exp(rnd.gauss(k.interval_mu, 0.25))))
        for g in chosen
    ]
    if archetype in RHYTHMIC:  # a clear rhythm: the main group comes back within 3 months
        core[0] = (core[0][0], min(core[0][1], 90.0))
    season: tuple[int, ...] = ()
    if archetype == "seasonal":  # one or two groups of the season, sold by the companies
        names, weights = zip(*SEASON_SHARES, strict=True)
        season, codes = data.SEASONS[rnd.choices(names, weights=weights)[0]]
        groups = [g for g in sellable if data.GROUPS[g].code in codes]
        chosen = [weighted(groups)]
        if len(groups) > 1 and rnd.random() < 0.5:
            chosen.append(weighted([g for g in groups if g not in chosen]))
        core = [(g, float(data.GROUPS[g].interval)) for g in chosen]
    favourites = {g: rnd.sample(PRODUCTS_BY_GROUP[g], rnd.choice((1, 1, 2))) for g in chosen}
    return Profile(
        archetype=archetype,
        kind=kind,
        companies=companies,
        scale=rnd.uniform(10.0, 18.0) if big else rnd.uniform(*k.scale),
        price_factor=k.price_factor,
        extra_rate=2.5 if big else k.extra_rate,
        core=core,
        favourites=favourites,
        season=season,
    )


def generate_demo_export(
    path: Path, as_of: date, seed: int = 42, customers: int = 2400
) -> DemoStats:
    """Write the demo WaWi export to ``path`` and say what is in it."""
    if customers < MIN_CUSTOMERS:
        raise ValueError(f"customers must be at least {MIN_CUSTOMERS}")
    rnd = random.Random(seed)
    archetypes = _allocate(rnd, customers)
    kinds = _assign_kinds(rnd, archetypes)
    people = make_people(rnd, kinds)
    cat = Catalog.build()
    profiles, histories = [], []
    for i, (archetype, kind) in enumerate(zip(archetypes, kinds, strict=True)):
        crnd = random.Random(f"recovery-demo:{seed}:{i}")  # one stream per customer
        profiles.append(_make_profile(crnd, archetype, kind))
        histories.append(History(crnd, cat, as_of.toordinal(), profiles[-1]).build())
    # Customer numbers follow the first purchase, as a WaWi hands them out.
    ranked = sorted(range(customers), key=lambda i: (histories[i][0].day, i))
    numbers = [""] * customers
    for rank, i in enumerate(ranked):
        numbers[i] = str(10001 + rank)

    export = _Export(people, kinds, numbers, profiles)
    for *_, seq, i in sorted(
        (o.day, o.company, int(numbers[i]), seq, i)
        for i, h in enumerate(histories)
        for seq, o in enumerate(h)
    ):
        export.add(i, histories[i][seq])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(export.text().encode("utf-8"))

    return DemoStats(
        as_of=as_of,
        seed=seed,
        customers=customers,
        orders=sum(export.statuses.values()),
        lines=export.lines,
        companies=len(export.companies),
        product_groups=len({PRODUCTS[p].group for p in export.products}),
        products=len(export.products),
        archetypes={a: archetypes.count(a) for a in ARCHETYPES},
        first_order_date=date.fromordinal(min(h[0].day for h in histories)),
        last_order_date=date.fromordinal(max(h[-1].day for h in histories)),
        net_total=Decimal(export.net_total) / 100,
        open_orders=export.statuses[OPEN],
        cancelled_orders=export.statuses[CANCELLED],
        returned_orders=export.statuses[RETURNED],
        customers_without_email=sum(not p.email for p in people),
        customers_without_mobile=sum(not p.mobile for p in people),
        customers_without_consent=sum(not p.newsletter for p in people),
        multi_company_customers=sum(len(cs) > 1 for cs in export.companies_of.values()),
        company_names=tuple(data.COMPANIES[c].name for c in sorted(export.companies)),
        customer_archetypes={numbers[i]: a for i, a in enumerate(archetypes)},
    )


def _field(value: str) -> str:
    """A CSV field as Excel and pandas read it (quoted only when it must be)."""
    if any(ch in value for ch in ';"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _join(values: list[str]) -> str:
    return ";".join(_field(v) for v in values)


class _Export:
    """Collects the CSV text, order by order, and counts what went in."""

    def __init__(
        self, people: list[Person], kinds: list[str], numbers: list[str], profiles: list[Profile]
    ):
        self.customer_part = [
            _join(
                [
                    numbers[i],
                    p.first_name,
                    p.last_name,
                    p.firm,
                    p.email,
                    p.phone,
                    p.mobile,
                    p.city,
                    p.country,
                    kinds[i],
                    "ja" if p.newsletter else "nein",
                ]
            )
            for i, p in enumerate(people)
        ]
        self.factors = [prof.price_factor for prof in profiles]
        self.rows = [_join(list(HEADER))]
        self.seq: Counter[tuple[int, int]] = Counter()
        self.statuses: Counter[str] = Counter()
        self.companies_of: dict[int, set[int]] = {}
        self.companies: set[int] = set()
        self.products: set[int] = set()
        self.lines = self.net_total = 0
        self._dates: dict[int, str] = {}
        self._line_part: dict[tuple[int, int, float], tuple[str, int]] = {}

    def add(self, customer: int, order: Order) -> None:
        d = date.fromordinal(order.day)
        company = data.COMPANIES[order.company]
        self.seq[order.company, d.year] += 1
        number = f"{company.order_prefix}-{d.year}-{self.seq[order.company, d.year]:05d}"
        if order.day not in self._dates:
            self._dates[order.day] = f"{d:%d.%m.%Y}"
        head = (
            self.customer_part[customer]
            + ";"
            + _join([number, self._dates[order.day], company.name, order.status])
        )
        for p, qty in order.lines.items():
            tail, net = self._line(p, qty, self.factors[customer])
            self.rows.append(f"{head};{tail}")
            self.net_total += net
            self.products.add(p)
        self.lines += len(order.lines)
        self.statuses[order.status] += 1
        self.companies.add(order.company)
        self.companies_of.setdefault(customer, set()).add(order.company)

    def _line(self, p: int, qty: int, factor: float) -> tuple[str, int]:
        key = (p, qty, factor)
        if key not in self._line_part:
            prod = PRODUCTS[p]
            net = qty * int(prod.price_cents * factor + 0.5)  # quantity x unit price
            gross = (net * (100 + prod.vat) + 50) // 100  # VAT, rounded half up
            cols = [prod.sku, prod.name, data.GROUPS[prod.group].name, str(qty)]
            self._line_part[key] = (_join([*cols, german_amount(net), german_amount(gross)]), net)
        return self._line_part[key]

    def text(self) -> str:
        return "\ufeff" + "\r\n".join(self.rows) + "\r\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the demo WaWi export (CSV).")
    parser.add_argument("path", type=Path, help="where to write the CSV file")
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="last day (YYYY-MM-DD); today"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--customers", type=int, default=2400)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    stats = generate_demo_export(
        args.path, args.as_of or date.today(), seed=args.seed, customers=args.customers
    )
    print(stats.summary())
    print(f"written to {args.path} in {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

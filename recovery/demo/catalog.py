"""Indexed views of the static demo data (products by group and month, preferences)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate

from . import data

GROUP_INDEX = {g.code: i for i, g in enumerate(data.GROUPS)}
# A re-order due in month m happens with probability sqrt(season[m] / peak), at least
# KEEP_MIN: strongly seasonal groups (fertiliser) pause in winter, flowers hardly do.
KEEP_MIN = 0.25


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    group: int
    price_cents: int
    vat: int


def _products() -> tuple[Product, ...]:
    counters: dict[str, int] = {}
    out = []
    for code, name, price, vat in data.PRODUCTS:
        counters[code] = counters.get(code, 1000) + 1
        group = data.GROUPS[GROUP_INDEX[code]]
        cents = round(price * 100)
        out.append(
            Product(f"{code}-{counters[code]}", name, GROUP_INDEX[code], cents, vat or group.vat)
        )
    return tuple(out)


PRODUCTS = _products()
PRODUCTS_BY_GROUP: tuple[tuple[int, ...], ...] = tuple(
    tuple(i for i, p in enumerate(PRODUCTS) if p.group == g) for g in range(len(data.GROUPS))
)


@dataclass(slots=True)
class Catalog:
    """Lookups the order generator needs, built once per run."""

    # products of group g sold in month m: by_group_month[g][m]
    by_group_month: list[list[list[int]]] = field(default_factory=list)
    # keep probability of a rhythm event of group g in month m (seasonal thinning)
    keep: list[list[float]] = field(default_factory=list)
    # seasonal weight of group g in month m, normalised to max 1: season[g][m]
    season: list[list[float]] = field(default_factory=list)
    # overall seasonal weight of a month, normalised to max 1
    month_weight: list[float] = field(default_factory=list)
    _cum: dict[tuple[str, int, int], tuple[list[int], list[float]]] = field(default_factory=dict)
    _months: dict[tuple[int, int], dict[int, int]] = field(default_factory=dict)

    @classmethod
    def build(cls) -> Catalog:
        cat = cls()
        seasonal = data.SEASONAL_PRODUCTS
        for gi in range(len(data.GROUPS)):
            months: list[list[int]] = [[]]
            for m in range(1, 13):
                months.append(
                    [
                        pi
                        for pi, p in enumerate(PRODUCTS)
                        if p.group == gi and m in seasonal.get(p.name, range(1, 13))
                    ]
                )
            cat.by_group_month.append(months)
            season = data.GROUPS[gi].season
            top = max(season)
            cat.season.append([0.0] + [w / top for w in season])
            cat.keep.append([0.0] + [max(KEEP_MIN, (w / top) ** 0.5) for w in season])
        totals = [sum(g.season[m] / sum(g.season) for g in data.GROUPS) for m in range(12)]
        cat.month_weight = [0.0] + [t / max(totals) for t in totals]
        return cat

    def months(self, first: int, last: int) -> dict[int, int]:
        """Date ordinal -> month, for every day from ``first`` to ``last``."""
        if (first, last) not in self._months:
            self._months[first, last] = {
                d: date.fromordinal(d).month for d in range(first, last + 1)
            }
        return self._months[first, last]

    def group_choices(self, kind: str, company: int, month: int) -> tuple[list[int], list[float]]:
        """Product groups a customer of ``kind`` buys at ``company`` in ``month``, weighted."""
        key = (kind, company, month)
        if key not in self._cum:
            prefs = data.GROUP_PREFERENCES[kind]
            groups = [GROUP_INDEX[c] for c in data.COMPANIES[company].groups]
            weights = [
                prefs[data.GROUPS[g].code] * data.GROUPS[g].season[month - 1] for g in groups
            ]
            self._cum[key] = (groups, list(accumulate(weights)))
        return self._cum[key]

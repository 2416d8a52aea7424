"""Order histories of one demo customer, by archetype.

Days are date ordinals. Every archetype promises something a test can check (see
``ARCHETYPES`` in ``generator``); the builders below re-draw or trim until it holds.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date

from . import data
from .catalog import PRODUCTS, Catalog

HISTORY_DAYS = 3 * 365  # the export covers three years up to as_of
YEAR = 365
COMPLETED, OPEN, CANCELLED, RETURNED = "abgeschlossen", "offen", "storniert", "retoure"
CANCEL_RATE, RETURN_RATE = 0.016, 0.016
MIN_ORDER, MAX_ORDER = 20_00, 5_000_00  # cents
DECLINE_MAX_RATIO = 0.70  # decliner: last 12 months at most 70 % of the 12 before
STABLE_MIN_RATIO, STABLE_MAX_RATIO = 0.80, 1.50  # regular: last 12 months vs the 12 before
OPEN_WITHIN_DAYS = 20
STOPPED_GAP_DAYS = (125, 600)  # stopped: last order about 4 to 20 months ago
NEW_WITHIN_DAYS = 175
ONE_TIME_OLDER_THAN = 181
_TRIES = 25


@dataclass(slots=True)
class Order:
    day: int
    company: int
    lines: dict[int, int] = field(default_factory=dict)  # product index -> quantity
    status: str = COMPLETED
    fixed: bool = False  # status chosen by the archetype, not by chance
    net: int = 0  # cents


@dataclass(slots=True)
class Profile:
    archetype: str
    kind: str  # Kundengruppe
    companies: tuple[int, ...]  # primary first
    scale: float  # quantity multiplier (B2B buys more)
    price_factor: float  # customer-group discount
    extra_rate: float  # mean number of impulse lines per order
    core: list[tuple[int, float]]  # (product group, own re-order interval in days)
    favourites: dict[int, list[int]]  # product group -> favourite products
    season: tuple[int, ...] = ()  # months of a seasonal customer's season


@dataclass(slots=True)
class Sums:
    last_all: int = 0
    last_done: int = 0
    prior_all: int = 0
    prior_done: int = 0
    prior_done_orders: int = 0


class History:
    """Builds the orders of one customer; ``build()`` dispatches on the archetype."""

    def __init__(self, rnd: random.Random, cat: Catalog, as_of: int, prof: Profile):
        self.rnd, self.cat, self.as_of, self.prof = rnd, cat, as_of, prof
        self.first_day = as_of - HISTORY_DAYS
        self.b2b = prof.kind != "Endkunde"
        self._units: dict[int, int] = {}
        self._months = cat.months(self.first_day - 7, as_of)

    # -- small helpers -------------------------------------------------------------
    def month(self, day: int) -> int:
        return self._months[day]

    def unit(self, p: int) -> int:
        if p not in self._units:
            self._units[p] = int(PRODUCTS[p].price_cents * self.prof.price_factor + 0.5)
        return self._units[p]

    def workday(self, day: int) -> int:
        """Businesses order on weekdays: Saturday/Sunday move back to Friday."""
        wd = date.fromordinal(day).weekday()
        if not self.b2b or wd < 5:
            return day
        return day - (wd - 4) if day - (wd - 4) >= self.first_day else day + (7 - wd)

    def seasonal_day(self, lo: int, hi: int, group: int | None = None) -> int:
        weights = self.cat.month_weight if group is None else self.cat.season[group]
        day = lo
        for _ in range(50):
            day = self.rnd.randint(lo, hi)
            if self.rnd.random() < weights[self.month(day)]:
                break
        return day

    def poisson(self, lam: float) -> int:
        limit, k, p = math.exp(-lam), 0, self.rnd.random()
        while p > limit:
            k += 1
            p *= self.rnd.random()
        return k

    def pick_company(self) -> int:
        comps = self.prof.companies
        return comps[0] if len(comps) == 1 or self.rnd.random() < 0.7 else comps[1]

    def company_for(self, group: int) -> int:
        code = data.GROUPS[group].code
        comps = [c for c in self.prof.companies if code in data.COMPANIES[c].groups]
        return comps[0] if len(comps) == 1 or self.rnd.random() < 0.7 else comps[1]

    def pick_group(self, company: int, month: int) -> int:
        groups, cum = self.cat.group_choices(self.prof.kind, company, month)
        return self.rnd.choices(groups, cum_weights=cum)[0]

    # -- orders --------------------------------------------------------------------
    def quantity(self, p: int) -> int:
        prod = PRODUCTS[p]
        q = self.prof.scale * data.GROUPS[prod.group].base_qty
        q *= math.exp(self.rnd.gauss(0, 0.35))
        price = prod.price_cents / 100
        if price > 40:
            q *= (40 / price) ** 0.8
        return max(1, round(q))

    def add_line(self, order: Order, group: int, favourite: bool = True) -> None:
        available = self.cat.by_group_month[group][self.month(order.day)]
        favs = [p for p in self.prof.favourites.get(group, ()) if p in available]
        if favourite and favs and self.rnd.random() < 0.8:
            p = self.rnd.choice(favs)
        else:
            p = self.rnd.choice(available)
        order.lines[p] = order.lines.get(p, 0) + self.quantity(p)

    def finish(self, order: Order) -> Order:
        """Keep the order value between MIN_ORDER and MAX_ORDER."""
        lines, unit = order.lines, self.unit
        net = sum(q * unit(p) for p, q in lines.items())
        while net > MAX_ORDER:
            p = max(lines, key=lambda k: lines[k] * unit(k))
            if lines[p] > 1:
                lines[p] = max(1, lines[p] * 2 // 3)
            elif len(lines) > 1:
                del lines[p]
            else:
                break
            net = sum(q * unit(k) for k, q in lines.items())
        cheapest = min(lines, key=unit)
        while net < MIN_ORDER:
            lines[cheapest] += 1
            net += unit(cheapest)
        order.net = net
        return order

    def new_order(self, day: int, company: int, groups: list[int], extra: float = 1.0) -> Order:
        order = Order(day, company)
        for g in groups:
            self.add_line(order, g)
        month = self.month(day)
        for _ in range(self.poisson(self.prof.extra_rate * extra)):
            self.add_line(order, self.pick_group(company, month), favourite=False)
        return self.finish(order)

    def rhythm_events(self, start: int, end: int) -> list[tuple[int, int]]:
        """Re-order events per core group: own interval, small jitter, seasonal thinning."""
        events: list[tuple[int, int]] = []
        if start > end:
            return events
        for g, interval in self.prof.core:
            if interval >= 150:  # long cycles start in the group's season
                t = float(self.seasonal_day(start, min(end, start + int(interval)), g))
            else:
                t = start + self.rnd.random() * interval
            while t <= end:
                day = int(t)
                if self.rnd.random() < self.cat.keep[g][self.month(day)]:
                    events.append((day, g))
                t += interval * math.exp(self.rnd.gauss(0, 0.15))
        events.sort()
        return events

    def orders_from_events(
        self, events: list[tuple[int, int]], damp_from: int | None = None, damp: float = 1.0
    ) -> list[Order]:
        orders: list[Order] = []
        for day, g in events:
            company, day = self.company_for(g), self.workday(day)
            last = orders[-1] if orders else None
            if last is not None and last.company == company and abs(day - last.day) <= 6:
                self.add_line(last, g)
                self.finish(last)
            else:
                extra = damp if damp_from is not None and day > damp_from else 1.0
                orders.append(self.new_order(day, company, [g], extra))
        orders.sort(key=lambda o: o.day)
        return orders

    def assign_statuses(self, orders: list[Order]) -> None:
        for o in orders:
            if o.fixed:
                continue
            r = self.rnd.random()
            if r < CANCEL_RATE:
                o.status = CANCELLED
            elif r < CANCEL_RATE + RETURN_RATE and o.day <= self.as_of - 10:
                o.status = RETURNED
            else:
                o.status = COMPLETED

    def sums(self, orders: list[Order]) -> Sums:
        s = Sums()
        for o in orders:
            done = o.status == COMPLETED
            if o.day > self.as_of - YEAR:
                s.last_all += o.net
                s.last_done += o.net if done else 0
            elif o.day > self.as_of - 2 * YEAR:
                s.prior_all += o.net
                s.prior_done += o.net if done else 0
                s.prior_done_orders += done
        return s

    def fixed_order(
        self, day: int, group: int, status: str = COMPLETED, extra: float = 1.0
    ) -> Order:
        order = self.new_order(day, self.company_for(group), [group], extra)
        order.status, order.fixed = status, True
        return order

    # -- archetypes ----------------------------------------------------------------
    def build(self) -> list[Order]:
        orders = getattr(self, f"_build_{self.prof.archetype}")()
        orders.sort(key=lambda o: o.day)
        return orders

    def _build_regular(self) -> list[Order]:
        start = self.as_of - self.rnd.randint(2 * YEAR + 30, HISTORY_DAYS)
        rhythm = self.prof.core[0][1]
        for _ in range(3):
            orders = self.orders_from_events(self.rhythm_events(start, self.as_of))
            self.assign_statuses(orders)
            s = self.sums(orders)
            if (
                s.prior_done_orders >= 2
                and STABLE_MIN_RATIO * s.prior_all <= s.last_done
                and s.last_all <= STABLE_MAX_RATIO * s.prior_done
                and self.as_of - orders[-1].day <= 1.5 * rhythm
            ):
                return orders
        # Chance gave an unusual history: fill a thin year before, make sure the customer
        # ordered within the rhythm lately, drop an order of a strong last year or add one
        # to a weak one, until the revenue is stable.
        group = self.prof.core[0][0]
        while s.prior_done_orders < 2:
            day = self.workday(self.as_of - YEAR - self.rnd.randint(1, YEAR - 3))
            orders.append(self.fixed_order(day, group))
            s = self.sums(orders)
        if self.as_of - orders[-1].day > 1.5 * rhythm:
            orders.append(
                self.fixed_order(self.workday(self.as_of - self.rnd.randint(0, int(rhythm))), group)
            )
            s = self.sums(orders)
        while s.last_all > STABLE_MAX_RATIO * s.prior_done:
            newest = max(orders, key=lambda o: o.day)
            last_year = [o for o in orders if o.day > self.as_of - YEAR and o is not newest]
            if not last_year:
                break
            orders.remove(self.rnd.choice(last_year))
            s = self.sums(orders)
        while s.last_done < STABLE_MIN_RATIO * s.prior_all:
            day = self.workday(self.as_of - self.rnd.randint(0, YEAR - 3))
            orders.append(self.fixed_order(day, self.rnd.choice(self.prof.core)[0]))
            s = self.sums(orders)
        return orders

    _build_big_b2b = _build_regular

    def _build_decliner(self) -> list[Order]:
        rnd, group = self.rnd, self.prof.core[0][0]
        start = self.as_of - rnd.randint(2 * YEAR + 30, HISTORY_DAYS)
        severity = rnd.uniform(0.35, 0.55) if rnd.random() < 0.4 else rnd.uniform(0.6, 0.9)
        change = self.as_of - rnd.randint(240, 400)  # from here on, fewer and smaller orders
        events = [
            e
            for e in self.rhythm_events(start, self.as_of)
            if e[0] <= change or rnd.random() > severity
        ]
        orders = self.orders_from_events(events, damp_from=change, damp=1 - severity)
        self.assign_statuses(orders)
        s = self.sums(orders)
        while s.prior_done_orders < 3:  # a regular history before the decline
            day = self.workday(self.as_of - YEAR - rnd.randint(1, YEAR - 3))
            orders.append(self.fixed_order(day, group))
            s = self.sums(orders)
        # still a customer: an order in the last 4 months
        recent = [o for o in orders if o.day > self.as_of - 120 and o.status == COMPLETED]
        if recent:
            keep = max(recent, key=lambda o: o.day)
        else:
            keep = self.fixed_order(self.workday(self.as_of - rnd.randint(7, 110)), group, extra=0)
            orders.append(keep)
        keep.fixed = True
        s = self.sums(orders)
        while s.last_all > DECLINE_MAX_RATIO * s.prior_done:
            droppable = [o for o in orders if o.day > self.as_of - YEAR and o is not keep]
            if droppable:
                orders.remove(rnd.choice(droppable))
            else:  # only the recent order is left: make it a small one
                cheapest = min(self.cat.by_group_month[group][self.month(keep.day)], key=self.unit)
                keep.lines = {cheapest: 1}
                self.finish(keep)
                break
            s = self.sums(orders)
        return orders

    def _build_stopped(self) -> list[Order]:
        rnd = self.rnd
        end = self.as_of - rnd.randint(*STOPPED_GAP_DAYS)
        start = self.first_day + rnd.randint(0, max(0, end - 240 - self.first_day))
        for _ in range(_TRIES):
            events = self.rhythm_events(start, end - 7) + [(end, self.prof.core[0][0])]
            orders = self.orders_from_events(events)
            self.assign_statuses(orders)
            orders[-1].status, orders[-1].fixed = COMPLETED, True
            if sum(o.status == COMPLETED for o in orders) >= 3:
                return orders
            start = max(self.first_day, start - 60)
        return orders

    def _build_open_order(self) -> list[Order]:
        start = self.as_of - self.rnd.randint(400, HISTORY_DAYS)
        for _ in range(_TRIES):
            orders = self.orders_from_events(self.rhythm_events(start, self.as_of - 21))
            if len(orders) >= 3:
                break
        self.assign_statuses(orders)
        day = self.workday(self.as_of - self.rnd.randint(1, OPEN_WITHIN_DAYS - 2))
        orders.append(self.fixed_order(day, self.prof.core[0][0], OPEN))
        return orders

    def _build_new(self) -> list[Order]:
        first = self.workday(self.as_of - self.rnd.randint(3, NEW_WITHIN_DAYS))
        orders = self.orders_from_events(self.rhythm_events(first + 5, self.as_of))
        self.assign_statuses(orders)
        return [self.fixed_order(first, self.prof.core[0][0]), *orders]

    def _build_one_time(self) -> list[Order]:
        day = self.seasonal_day(self.first_day + 3, self.as_of - ONE_TIME_OLDER_THAN)
        day = self.workday(day)
        company = self.pick_company()
        order = self.new_order(day, company, [self.pick_group(company, self.month(day))])
        order.fixed = True
        return [order]

    def _build_seasonal(self) -> list[Order]:
        """Orders in every season since the start, none outside: garden customers two
        to four per season, Christmas buyers two or three, one in each slice of the
        season (a week apart at least, so never merged). The first order of each
        season is completed, so every season holds a valid order."""
        rnd, months = self.rnd, self.prof.season
        start = self.as_of - rnd.randint(2 * YEAR + 30, HISTORY_DAYS)
        per_season = (2, 4) if len(months) > 2 else (2, 3)
        groups = [g for g, _ in self.prof.core]
        orders: list[Order] = []
        for year in range(date.fromordinal(start).year - 1, date.fromordinal(self.as_of).year + 1):
            last_year = year + (months[-1] < months[0])  # a season over the new year
            after = date(last_year + (months[-1] == 12), months[-1] % 12 + 1, 1).toordinal()
            # from the 3rd: a weekend order of a business moves back to the Friday before
            first = date(year, months[0], 3).toordinal()
            n = rnd.randint(*per_season)
            width = (after - first) // n
            days = [first + i * width + rnd.randint(0, width - 7) for i in range(n)]
            events = [(d, rnd.choice(groups)) for d in days if start <= d <= self.as_of]
            if not events:
                continue
            season_orders = self.orders_from_events(events)
            self.assign_statuses(season_orders)
            season_orders[0].status, season_orders[0].fixed = COMPLETED, True
            orders += season_orders
        return orders

    def _build_occasional(self) -> list[Order]:
        first = self.seasonal_day(self.first_day + 3, self.as_of - 400)
        days = [first] + [
            self.seasonal_day(first + 20, self.as_of) for _ in range(self.rnd.randint(1, 5))
        ]
        orders = []
        for day in sorted(days):
            day, company = self.workday(day), self.pick_company()
            orders.append(self.new_order(day, company, [self.pick_group(company, self.month(day))]))
        self.assign_statuses(orders)
        return orders

"""The validating pass over an order-line file -- the only time the file is read.

It reads the file in chunks, checks every cell that can be wrong, decides each amount
column's number style, checks that the lines of one order agree (the status is per line:
a cancelled position of a completed order is no contradiction), and remembers, as
arrays of row numbers, which row gives each customer's fields and on which row each
order ends. The chunks go to a spool the streams replay. Nothing is yielded from a
file that fails here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from ..base import N_, DataError, RowError
from ..records import Limits
from .mapping import Layout
from .source import FileInfo, foreign_text, has_foreign_bytes, iter_chunks
from .spool import Spool
from .values import (
    BAD,
    DE,
    EMPTY,
    EN,
    NAT,
    STYLE_EXAMPLES,
    Cells,
    Column,
    Memo,
    amount_float,
    amount_kind,
    amount_kinds,
    amount_size,
    cell_text,
    format_local,
    parse_countries,
    parse_currencies,
    parse_dates,
    parse_flags,
    parse_line_types,
    parse_states,
    parse_text,
)

ERROR_LIMIT = 100
AMOUNT_FIELDS = ("net_amount", "gross_amount", "quantity")
# Fields that must be the same on every line of one order, and how to say they are not.
# What the lines of one order may not disagree on, and how a disagreement is told.
ORDER_FIELDS: dict[str, str] = {
    "customer_number": N_(
        "order %(number)s belongs to two customers: %(here)s here, %(there)s in row %(row)s"
    ),
    "ordered_at": N_(
        "order %(number)s has two different dates: %(here)s here, %(there)s in row %(row)s"
    ),
    "company": N_(
        "order %(number)s belongs to two companies: %(here)s here, %(there)s in row %(row)s"
    ),
    "currency": N_(
        "order %(number)s has two different currencies: %(here)s here, %(there)s in row %(row)s"
    ),
}
# Why a cell cannot be read, per field; the value follows.
UNREADABLE: dict[str, str] = {
    "ordered_at": N_("not a date: '%(value)s'"),
    "state": N_("unknown order status: '%(value)s'"),
    "line_type": N_("unknown position type: '%(value)s'"),
    "currency": N_("not a currency code: '%(value)s'"),
    "marketing_consent": N_("not a yes/no value: '%(value)s'"),
    "country": N_("not a country: '%(value)s'"),
    "quantity": N_("not a quantity: '%(value)s'"),
    "amount": N_("not an amount: '%(value)s'"),
}
NOT_READABLE = N_("not readable: '%(value)s'")
MISSING: dict[str, str] = {
    "customer_number": N_("missing customer number"),
    "order_number": N_("missing order number"),
    "ordered_at": N_("missing order date"),
    "net_amount": N_("missing net amount"),
}
TOO_LONG = N_("%(length)s characters, more than the %(limit)s that can be stored")
CONTROL = N_("contains the control character %(code)s")
TOO_LARGE = N_("'%(value)s' is too large: the amounts that can be stored stay below %(limit)s")
ORDER_TOO_LARGE = N_(
    "order %(number)s adds up to %(total)s: the totals that can be stored stay below %(limit)s"
)
FOREIGN = N_("not UTF-8 as the rest of the file: '%(value)s' if read as Windows-1252")
NO_ROWS = N_("no order lines below the header row")
# Where each text field of the file is stored (``Limits`` keys); the shortest column wins.
TEXT_LIMITS: dict[str, tuple[str, ...]] = {
    "customer_number": ("customer.external_id", "customer.number", "order.customer_external_id"),
    "first_name": ("customer.first_name",),
    "last_name": ("customer.last_name",),
    "company_name": ("customer.company_name",),
    "email": ("customer.email",),
    "phone": ("customer.phone",),
    "mobile": ("customer.mobile",),
    "city": ("customer.city",),
    "customer_group": ("customer.customer_group",),
    "order_number": ("order.external_id", "order.number"),
    "company": ("order.company",),
    "sku": ("line.sku",),
    "product_name": ("line.product_name",),
    "product_group": ("line.product_group",),
}
AMOUNT_LIMITS: dict[str, tuple[str, ...]] = {
    "net_amount": ("line.net_amount",),
    "gross_amount": ("line.gross_amount",),
    "quantity": ("line.quantity",),
}
ORDER_TOTAL_LIMITS = {"net_amount": "order.net_total", "gross_amount": "order.gross_total"}
# C0 control characters but tab, line feed and carriage return, and DEL: PostgreSQL
# refuses NUL in text, and none of them belongs in a name or a number.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
OTHER_STYLE = N_("'%(value)s' is written differently from the rest of the column (%(example)s)")
# A reason: its N_-marked text and the values for its %(…)s places.
Reason = tuple[str, dict[str, Any]]
_KEYS = ("order_number", *ORDER_FIELDS)


@dataclass(slots=True)
class ScanResult:
    info: FileInfo
    layout: Layout
    amount_styles: dict[str, int]  # amount field -> DE or EN
    customer_rows: np.ndarray  # ascending rows that carry each customer's latest data
    order_end_rows: np.ndarray  # ascending rows on which an order's last line is
    lines: int
    spool: Spool

    @property
    def customers(self) -> int:
        return len(self.customer_rows)

    @property
    def orders(self) -> int:
        return len(self.order_end_rows)


class ErrorLog:
    """Counts every error, keeps the first ``ERROR_LIMIT`` by row and column."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.total = 0
        self._kept: list[tuple[int, int, RowError]] = []

    def add(
        self, target: str, rows: np.ndarray, reasons: Iterable[Reason], count: int | None = None
    ) -> None:
        """Errors in ``target``'s column on ``rows`` (ascending), one reason per row.

        ``count`` is the number of errors when ``rows`` lists only the first of them.
        """
        self.total += len(rows) if count is None else count
        position, header = self.layout.positions[target], self.layout.header(target)
        for row, (template, params) in zip(rows[:ERROR_LIMIT].tolist(), reasons, strict=False):
            self._kept.append((row, position, RowError.of(row, header, template, **params)))
        if len(self._kept) > 4 * ERROR_LIMIT:
            self._trim()

    def add_rows(self, rows: Iterable[int], total: int, template: str, **params: Any) -> None:
        """Errors of whole rows (no column), ``total`` of them."""
        self.total += total
        for row in rows:
            self._kept.append((row, -1, RowError.of(row, "", template, **params)))

    def _trim(self) -> None:
        self._kept.sort(key=lambda kept: kept[:2])
        del self._kept[ERROR_LIMIT:]

    def raise_if_any(self, file_name: str) -> None:
        if not self.total:
            return
        self._trim()
        errors = [kept[2] for kept in self._kept]
        if self.total == 1:
            raise DataError(N_("%(file)s: 1 error; nothing was imported"), errors, file=file_name)
        if self.total > ERROR_LIMIT:
            raise DataError(
                N_(
                    "%(file)s: %(count)s errors (the first %(listed)s are listed); "
                    "nothing was imported"
                ),
                errors,
                file=file_name,
                count=self.total,
                listed=ERROR_LIMIT,
            )
        raise DataError(
            N_("%(file)s: %(count)s errors; nothing was imported"),
            errors,
            file=file_name,
            count=self.total,
        )


@dataclass(slots=True)
class _StyleEvidence:
    """How often a column writes amounts the German or the English way, with samples."""

    kind_of: Memo = field(default_factory=lambda: Memo(amount_kind))
    size_of: Memo = field(default_factory=lambda: Memo(amount_float))
    counts: dict[int, int] = field(default_factory=lambda: {DE: 0, EN: 0})
    samples: dict[int, list[tuple[int, object]]] = field(default_factory=lambda: {DE: [], EN: []})

    def add(self, kinds: np.ndarray, rows: np.ndarray, cells: Cells) -> None:
        for style in (DE, EN):
            hits = np.flatnonzero(kinds == style)
            self.counts[style] += len(hits)
            room = ERROR_LIMIT - len(self.samples[style])
            if room > 0 and len(hits):
                first = hits[:room]
                self.samples[style] += zip(rows[first].tolist(), cells.at(first), strict=True)

    def style(self) -> int | None:
        de, en = self.counts[DE], self.counts[EN]
        if de == en == 0:
            return None
        return DE if de >= en else EN


@dataclass(frozen=True, slots=True)
class Scanner:
    info: FileInfo
    layout: Layout
    tz: str
    default_currency: str
    limits: Limits | None = None
    # A UTF-8 file with some rows in Windows-1252 (``FileInfo.foreign_rows``): read
    # those rows' cells as Windows-1252 (the user said so), else refuse them.
    cp1252_rows: bool = False

    def run(self) -> ScanResult:
        """Validate the file and spool it; raise ``DataError`` listing what is wrong."""
        errors = ErrorLog(self.layout)
        evidence = {t: _StyleEvidence() for t in self.layout.of(*AMOUNT_FIELDS)}
        firsts, lasts = [], []
        lines = 0
        spool = Spool()
        if self.info.nul_total:  # the parser would cut those cells short
            errors.add_rows(self.info.nul_rows, self.info.nul_total, CONTROL, code="U+0000")
        try:
            for frame in iter_chunks(self.info, sorted(set(self.layout.positions.values()))):
                rows = frame.index.to_numpy()
                cells = {t: Cells.of(frame[p]) for t, p in self.layout.positions.items()}
                blank = np.logical_and.reduce([c.empty for c in cells.values()])
                if blank.any():
                    rows = rows[~blank]
                    cells = {t: c.take(~blank) for t, c in cells.items()}
                if self.info.foreign_total:
                    cells = self._foreign(rows, cells, errors)
                if "line_type" in cells:  # lines that are no goods are left out
                    types = parse_line_types(cells["line_type"])
                    self._report(errors, "line_type", rows, cells, types)
                    goods = types.values.astype(bool)  # an unreadable type is an error
                    rows = rows[goods]
                    cells = {t: c.take(goods) for t, c in cells.items()}
                if not len(rows):
                    continue
                lines += len(rows)
                first, last = self._check_chunk(rows, cells, errors, evidence)
                firsts.append(first)
                lasts.append(last)
                spool.append(rows, cells)
            styles = self._decide_styles(evidence, errors)
            self._check_orders(_concat(firsts), errors)
            self._check_totals(_concat(lasts), errors)
            errors.raise_if_any(self.info.name)
            if not lines:
                error = RowError.of(self.info.header_row + 1, "", NO_ROWS)
                raise DataError(
                    N_("%(file)s: 1 error; nothing was imported"), [error], file=self.info.name
                )
        except BaseException:
            spool.close()
            raise
        lasts_all = _concat(lasts)
        order_ends = lasts_all.drop_duplicates("order_number", keep="last")["row"]
        return ScanResult(
            self.info,
            self.layout,
            styles,
            np.sort(_latest_per_customer(lasts_all)["row"].to_numpy()),
            np.sort(order_ends.to_numpy()),
            lines,
            spool,
        )

    def _check_chunk(
        self,
        rows: np.ndarray,
        cells: dict[str, Cells],
        errors: ErrorLog,
        evidence: dict[str, _StyleEvidence],
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Check one chunk; return the order keys of the first and the last line of each
        run of lines with equal keys (an order's lines are usually next to each other)."""
        keys: dict[str, np.ndarray] = {}
        for target in ("customer_number", "order_number"):
            keys[target] = self._parsed(target, cells, rows, errors, parse_text)
        dates, keys["ordered_at"] = parse_dates(cells["ordered_at"], self.tz)
        self._report(errors, "ordered_at", rows, cells, dates)
        self._parsed("state", cells, rows, errors, parse_states)
        keys["company"] = self._parsed("company", cells, rows, errors, _text_or_empty, "")
        keys["currency"] = self._parsed(
            "currency",
            cells,
            rows,
            errors,
            lambda c: parse_currencies(c, self.default_currency),
            self.default_currency,
        )
        self._parsed("marketing_consent", cells, rows, errors, parse_flags, None)
        self._parsed("country", cells, rows, errors, parse_countries, None)
        for target in TEXT_LIMITS.keys() & cells.keys():  # the others are parsed above
            self._check_text(target, rows, cells[target], errors)
        sizes = {}
        for target, seen in evidence.items():
            sizes[target] = self._check_amounts(target, rows, cells[target], errors, seen)
        keys["row"] = rows

        codes = [cells[t].codes for t in _KEYS if t in cells]
        starts = np.ones(len(rows), dtype=bool)
        starts[1:] = np.logical_or.reduce([c[1:] != c[:-1] for c in codes])
        ends = np.append(starts[1:], True)
        first = pd.DataFrame({k: v[starts] for k, v in keys.items()})
        last = pd.DataFrame({k: v[ends] for k, v in keys.items()})
        for target in ORDER_TOTAL_LIMITS:  # each run's sum, for the orders' totals
            if target in sizes:
                last[target] = np.add.reduceat(sizes[target], np.flatnonzero(starts))
        return first, last

    def _foreign(
        self, rows: np.ndarray, cells: dict[str, Cells], errors: ErrorLog
    ) -> dict[str, Cells]:
        """Cells with bytes that are not UTF-8: read as Windows-1252, or refused."""
        fixed = dict(cells)
        for target, column in cells.items():
            foreign = np.fromiter(map(has_foreign_bytes, column.uniques), bool, len(column.uniques))
            if not foreign.any():
                continue
            if self.cp1252_rows:
                uniques = column.uniques.copy()
                uniques[foreign] = [foreign_text(u) for u in uniques[foreign]]
                fixed[target] = Cells.of(pd.Series(np.append(uniques, None)[column.codes]))
                continue
            hit = np.flatnonzero(np.append(foreign, False)[column.codes])
            raw = column.at(hit[:ERROR_LIMIT])
            reasons = ((FOREIGN, {"value": foreign_text(value)}) for value in raw)
            errors.add(target, rows[hit], reasons)
        return fixed

    def _check_text(self, target: str, rows: np.ndarray, cells: Cells, errors: ErrorLog) -> None:
        """Control characters; text longer than the column it is stored in."""
        uniques = cells.uniques
        texts = [u for u in uniques if type(u) is str]
        if not texts:
            return
        limit = self.limits.length(*TEXT_LIMITS[target]) if self.limits else None
        control = _CONTROL.search("\n".join(texts)) is not None
        long = limit is not None and max(map(len, texts)) > limit
        if not (control or long):
            return
        why: list[Reason | None] = [None] * (len(uniques) + 1)
        for i, value in enumerate(uniques):
            if type(value) is not str:
                continue
            if found := _CONTROL.search(value):
                why[i] = (CONTROL, {"code": f"U+{ord(found[0]):04X}"})
            elif limit is not None and len(value.strip()) > limit:
                why[i] = (TOO_LONG, {"length": len(value.strip()), "limit": limit})
        flagged = np.array([w is not None for w in why], dtype=bool)
        hit = np.flatnonzero(flagged[cells.codes])
        errors.add(target, rows[hit], (why[c] for c in cells.codes[hit[:ERROR_LIMIT]]))

    def _parsed(
        self,
        target: str,
        cells: dict[str, Cells],
        rows: np.ndarray,
        errors: ErrorLog,
        parse: Callable[[Cells], Column],
        default: object = None,
    ) -> np.ndarray:
        """Parse a column and report its bad and (if required) missing cells."""
        if target not in cells:
            return np.full(len(rows), default, dtype=object)
        column = parse(cells[target])
        self._report(errors, target, rows, cells, column)
        return column.values

    def _report(
        self,
        errors: ErrorLog,
        target: str,
        rows: np.ndarray,
        cells: dict[str, Cells],
        column: Column,
    ) -> None:
        bad = np.flatnonzero(column.bad)
        if len(bad):
            raw = cells[target].at(bad[:ERROR_LIMIT])
            errors.add(target, rows[bad], _with_values(UNREADABLE.get(target, NOT_READABLE), raw))
        if target in ("customer_number", "order_number", "ordered_at"):
            missing = np.flatnonzero(column.missing)
            errors.add(target, rows[missing], _repeat(MISSING[target]))

    def _check_amounts(
        self, target: str, rows: np.ndarray, cells: Cells, errors: ErrorLog, seen: _StyleEvidence
    ) -> np.ndarray:
        """Report unreadable, missing and too large amounts; return each row's amount
        as a float (0 where there is none), precise enough to compare with a limit."""
        kinds = amount_kinds(cells, seen.kind_of)
        bad = np.flatnonzero(kinds == BAD)
        if len(bad):
            template = UNREADABLE["quantity" if target == "quantity" else "amount"]
            errors.add(target, rows[bad], _with_values(template, cells.at(bad[:ERROR_LIMIT])))
        if target == "net_amount":
            errors.add(target, rows[kinds == EMPTY], _repeat(MISSING["net_amount"]))
        seen.add(kinds, rows, cells)
        sizes = amount_size(cells, seen.size_of)
        bound = self.limits.bound(*AMOUNT_LIMITS[target]) if self.limits else None
        if bound is not None:
            large = np.flatnonzero(np.abs(sizes) >= float(bound))
            if len(large):
                sizes[large] = 0  # refused already: not again in its order's total
                reasons = (
                    (TOO_LARGE, {"value": cell_text(raw), "limit": _plain(bound)})
                    for raw in cells.at(large[:ERROR_LIMIT])
                )
                errors.add(target, rows[large], reasons)
        return sizes

    def _check_totals(self, lasts: pd.DataFrame, errors: ErrorLog) -> None:
        """An order's total (the sum of its lines) must fit where it is stored."""
        for target, key in ORDER_TOTAL_LIMITS.items():
            bound = self.limits.bound(key) if self.limits else None
            if bound is None or target not in lasts or lasts.empty:
                continue
            orders = lasts[lasts["order_number"].notna()]
            totals = orders.groupby("order_number", sort=False).agg(
                total=(target, "sum"), row=("row", "max")
            )
            large = totals[np.abs(totals["total"]) >= float(bound)].sort_values("row")
            reasons = (
                (
                    ORDER_TOO_LARGE,
                    {"number": str(number), "total": f"{total:,.2f}", "limit": _plain(bound)},
                )
                for number, total in zip(large.index, large["total"], strict=True)
            )
            errors.add(target, large["row"].to_numpy(), reasons)

    def _decide_styles(
        self, evidence: dict[str, _StyleEvidence], errors: ErrorLog
    ) -> dict[str, int]:
        """Each amount column's style: its own majority, else the file's, else a guess.

        Cells written in a column's minority style are errors: in a column that mixes
        1.234,56 and 1,234.56 a cell like 1.234 cannot be read with confidence.
        """
        file_de = sum(e.counts[DE] for e in evidence.values())
        file_en = sum(e.counts[EN] for e in evidence.values())
        if file_de or file_en:
            fallback = DE if file_de >= file_en else EN
        else:  # only whole numbers and cells like 1.234: go by the separator
            fallback = EN if self.info.separator == "," else DE
        styles = {}
        for target, seen in evidence.items():
            style = styles[target] = seen.style() or fallback
            other = EN if style == DE else DE
            if seen.counts[other]:
                rows = np.array([row for row, _ in seen.samples[other]], dtype=np.int64)
                reasons = (
                    (OTHER_STYLE, {"value": cell_text(raw), "example": STYLE_EXAMPLES[style]})
                    for _, raw in seen.samples[other]
                )
                errors.add(target, rows, reasons, count=seen.counts[other])
        return styles

    def _check_orders(self, firsts: pd.DataFrame, errors: ErrorLog) -> None:
        """Every line of an order must agree on customer, date, company and currency.

        ``firsts`` has the first line of each run of equal keys, so an order that shows
        up more than once in it is either spread out or inconsistent.
        """
        firsts = firsts[firsts["order_number"].notna()]
        suspects = firsts[firsts["order_number"].duplicated(keep=False)]
        for target, template in ORDER_FIELDS.items():
            if not self.layout.has(target) or suspects.empty:
                continue
            keys = suspects[["order_number", target, "row"]]
            present = keys[target] != NAT if target == "ordered_at" else keys[target].notna()
            variants = keys[present].drop_duplicates(["order_number", target])
            clashes = variants[variants["order_number"].duplicated()]
            if clashes.empty:
                continue
            first = variants.drop_duplicates("order_number").set_index("order_number")
            first = first.reindex(clashes["order_number"])
            reasons = (
                (
                    template,
                    {
                        "number": str(number),
                        "here": self._shown(target, here),
                        "there": self._shown(target, there),
                        "row": int(there_row),
                    },
                )
                for number, here, there, there_row in zip(
                    clashes["order_number"],
                    clashes[target],
                    first[target],
                    first["row"],
                    strict=True,
                )
            )
            errors.add(target, clashes["row"].to_numpy(), reasons)

    def _shown(self, target: str, value: Any) -> str:
        if target == "ordered_at":
            return format_local(int(value), self.tz)
        return str(value) or "(empty)"


def _text_or_empty(cells: Cells) -> Column:
    return parse_text(cells, empty="")


def _latest_per_customer(lasts: pd.DataFrame) -> pd.DataFrame:
    """Per customer the row of their latest order (the later row if two share the date)."""
    keys = lasts[lasts["customer_number"].notna() & (lasts["ordered_at"] != NAT)]
    keys = keys[["customer_number", "ordered_at", "row"]]
    latest = keys.sort_values(["ordered_at", "row"], kind="stable")
    return latest.drop_duplicates("customer_number", keep="last")


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if parts:
        return pd.concat(parts, ignore_index=True)
    empty = {k: np.array([], dtype=object) for k in _KEYS}
    return pd.DataFrame({**empty, "ordered_at": np.array([], dtype=np.int64), "row": []})


def _plain(bound: Decimal) -> str:
    """10**12 as 1,000,000,000,000: a limit a user can read."""
    return f"{bound:,.0f}"


def _repeat(template: str) -> Iterable[Reason]:
    while True:
        yield template, {}


def _with_values(template: str, raw: np.ndarray) -> Iterable[Reason]:
    return ((template, {"value": cell_text(value)}) for value in raw)

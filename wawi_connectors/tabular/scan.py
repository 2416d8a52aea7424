"""The validating pass over an order-line file -- the only time the file is read.

It reads the file in chunks, checks every cell that can be wrong, decides each amount
column's number style, checks that the lines of one order agree (the status is per line:
a cancelled position of a completed order is no contradiction), and remembers, as
arrays of row numbers, which row gives each customer's fields and on which row each
order ends. The chunks go to a spool the streams replay. Nothing is yielded from a
file that fails here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..base import N_, DataError, RowError
from .mapping import Layout
from .source import FileInfo, iter_chunks
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
    amount_kind,
    amount_kinds,
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

    def run(self) -> ScanResult:
        """Validate the file and spool it; raise ``DataError`` listing what is wrong."""
        errors = ErrorLog(self.layout)
        evidence = {t: _StyleEvidence() for t in self.layout.of(*AMOUNT_FIELDS)}
        firsts, lasts = [], []
        lines = 0
        spool = Spool()
        try:
            for frame in iter_chunks(self.info, sorted(set(self.layout.positions.values()))):
                rows = frame.index.to_numpy()
                cells = {t: Cells.of(frame[p]) for t, p in self.layout.positions.items()}
                blank = np.logical_and.reduce([c.empty for c in cells.values()])
                if blank.any():
                    rows = rows[~blank]
                    cells = {t: c.take(~blank) for t, c in cells.items()}
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
            errors.raise_if_any(self.info.name)
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
        for target, seen in evidence.items():
            self._check_amounts(target, rows, cells[target], errors, seen)
        keys["row"] = rows

        codes = [cells[t].codes for t in _KEYS if t in cells]
        starts = np.ones(len(rows), dtype=bool)
        starts[1:] = np.logical_or.reduce([c[1:] != c[:-1] for c in codes])
        ends = np.append(starts[1:], True)
        first = pd.DataFrame({k: v[starts] for k, v in keys.items()})
        return first, pd.DataFrame({k: v[ends] for k, v in keys.items()})

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
    ) -> None:
        kinds = amount_kinds(cells, seen.kind_of)
        bad = np.flatnonzero(kinds == BAD)
        if len(bad):
            template = UNREADABLE["quantity" if target == "quantity" else "amount"]
            errors.add(target, rows[bad], _with_values(template, cells.at(bad[:ERROR_LIMIT])))
        if target == "net_amount":
            errors.add(target, rows[kinds == EMPTY], _repeat(MISSING["net_amount"]))
        seen.add(kinds, rows, cells)

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


def _repeat(template: str) -> Iterable[Reason]:
    while True:
        yield template, {}


def _with_values(template: str, raw: np.ndarray) -> Iterable[Reason]:
    return ((template, {"value": cell_text(value)}) for value in raw)

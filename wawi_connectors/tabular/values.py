"""Parsing whole columns of cells: each distinct value is parsed once, then spread out.

Exports repeat their values (dates, prices, statuses, customer numbers), so
``pd.factorize`` (C speed) plus one Python call per *distinct* value keeps the work
per cell in C.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from ..countries import country_code
from .mapping import normalise_header

NAT = np.iinfo(np.int64).min  # "no time" in int64 nanosecond arrays


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()  # what a value parser returns for a cell it cannot read


@dataclass(frozen=True, slots=True)
class Cells:
    """One column of a chunk, factorized: ``uniques[codes]`` are the cells, -1 is empty."""

    codes: np.ndarray
    uniques: np.ndarray

    @classmethod
    def of(cls, cells: pd.Series) -> Cells:
        codes, uniques = pd.factorize(cells.to_numpy(dtype=object))
        return cls(codes.astype(np.int32), uniques)

    @property
    def empty(self) -> np.ndarray:
        return self.codes < 0

    def take(self, where: np.ndarray) -> Cells:
        return Cells(self.codes[where], self.uniques)

    def pick(self, where: np.ndarray) -> Cells:
        """Like ``take``, keeping only the distinct values still used (for few rows)."""
        codes, used = pd.factorize(self.codes[where])
        empty = np.flatnonzero(used < 0)
        if len(empty):  # keep "empty" as -1
            codes[codes == empty[0]] = -1
            codes[codes > empty[0]] -= 1
            used = np.delete(used, empty[0])
        return Cells(codes.astype(np.int32), self.uniques[used])

    def at(self, where: np.ndarray) -> np.ndarray:
        """The raw cells at ``where`` (for messages)."""
        return np.append(self.uniques, None)[self.codes[where]]


@dataclass(frozen=True, slots=True)
class Column:
    """Parsed cells: ``values`` (None where empty or bad), which were bad, which missing."""

    values: np.ndarray
    bad: np.ndarray
    missing: np.ndarray

    @classmethod
    def constant(cls, value: Any, size: int) -> Column:
        """The column of a field the file does not have."""
        missing = np.full(size, value is None, dtype=bool)
        return cls(np.full(size, value, dtype=object), np.zeros(size, dtype=bool), missing)


def cell_text(value: Any) -> str:
    """A cell as the user reads it: '' when empty, 12.0 as '12', dates in ISO form."""
    if type(value) is str:
        return value
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    return str(value)


def parse_column(cells: Cells, parse: Callable[[Any], Any], empty: Any = None) -> Column:
    """Apply ``parse`` to each distinct cell; ``empty`` stands for empty cells."""
    parsed = [parse(u) for u in cells.uniques]
    bad = np.zeros(len(parsed) + 1, dtype=bool)
    bad[:-1] = [p is INVALID for p in parsed]
    values = np.empty(len(parsed) + 1, dtype=object)
    values[:-1] = [None if p is INVALID else p for p in parsed]
    values[-1] = empty
    missing = np.zeros(len(parsed) + 1, dtype=bool)
    missing[:-1] = [p is None for p in parsed]
    missing[-1] = empty is None
    codes = cells.codes
    return Column(values[codes], bad[codes], missing[codes])


class Memo:
    """Remembers what a parser made of each value, across the chunks of one pass.

    Exports repeat their prices in every chunk; a lookup is cheaper than parsing again.
    Bounded: it forgets everything when it holds ``LIMIT`` values.
    """

    LIMIT = 100_000
    __slots__ = ("parse", "seen")

    def __init__(self, parse: Callable[[Any], Any]):
        self.parse = parse
        self.seen: dict[Any, Any] = {}

    def __call__(self, value: Any) -> Any:
        key = value if type(value) is str else (type(value), value)  # 1 == 1.0 == True
        try:
            return self.seen[key]
        except KeyError:
            if len(self.seen) >= self.LIMIT:
                self.seen.clear()
            result = self.seen[key] = self.parse(value)
            return result


# --- text -----------------------------------------------------------------------------


def parse_text(cells: Cells, empty: str | None = None) -> Column:
    """Stripped text; ``empty`` for empty cells."""
    if empty is None:
        return parse_column(cells, _text)
    return parse_column(cells, lambda value: _text(value) or empty, empty)


def _text(value: Any) -> str | None:
    if type(value) is str:
        return value.strip() or None
    return cell_text(value).strip() or None


# --- amounts ----------------------------------------------------------------------------

# How an amount is written. NUMBER needs no decision (123, or a real Excel number); the
# ambiguous kinds read differently in German (1.234 = 1234) and English (1.234 = 1.234).
EMPTY, NUMBER, DE, EN, AMB_DOT, AMB_COMMA, BAD = range(7)
STYLE_EXAMPLES = {DE: "1.234,56", EN: "1,234.56"}

_AMOUNT = re.compile(
    r"""\s*(?:€|EUR)?\s*(?P<sign>[+-]?)\s*(?:€|EUR)?\s*
    (?: (?P<number>\d+)
      | (?P<amb_dot>[1-9]\d{0,2}\.\d{3})
      | (?P<amb_comma>[1-9]\d{0,2},\d{3})
      | (?P<de>(?:[1-9]\d{0,2}(?:\.\d{3})+|\d*),\d+ | [1-9]\d{0,2}(?:\.\d{3}){2,})
      | (?P<en>(?:[1-9]\d{0,2}(?:,\d{3})+|\d*)\.\d+ | [1-9]\d{0,2}(?:,\d{3}){2,})
    )\s*(?:€|EUR)?\s*""",
    re.X | re.I,
)
_KIND_OF_GROUP = {"number": NUMBER, "amb_dot": AMB_DOT, "amb_comma": AMB_COMMA, "de": DE, "en": EN}


def amount_kinds(cells: Cells, kind_of: Callable[[Any], int] | None = None) -> np.ndarray:
    """The kind (EMPTY, NUMBER, DE, EN, AMB_DOT, AMB_COMMA, BAD) of every cell, as int8."""
    kind_of = kind_of or amount_kind
    kinds = np.full(len(cells.uniques) + 1, EMPTY, dtype=np.int8)
    kinds[:-1] = [kind_of(u) for u in cells.uniques]
    return kinds[cells.codes]


def amount_kind(value: Any) -> int:
    return _amount_parts(value)[0]


def amount_size(cells: Cells, size_of: Callable[[Any], float] | None = None) -> np.ndarray:
    """Every cell's amount as a float (0 where empty or unreadable): its size, to compare
    with a limit. An ambiguous cell (1.234) is read the German way: either way it is small.
    """
    size_of = size_of or amount_float
    sizes = np.zeros(len(cells.uniques) + 1, dtype=np.float64)
    sizes[:-1] = [size_of(u) for u in cells.uniques]
    return sizes[cells.codes]


def amount_float(value: Any) -> float:
    amount = _to_decimal(value, DE)
    return 0.0 if amount is None or amount is INVALID else float(amount)


def decimal_parser(style: int) -> Memo:
    """A parser of amount cells to Decimal, reading ambiguous cells in ``style``."""
    return Memo(lambda value: _to_decimal(value, style))


def _amount_parts(value: Any) -> tuple[int, str, str]:
    """(kind, sign, digits with separators) of one cell."""
    if type(value) is not str:
        if isinstance(value, bool):
            return BAD, "", ""
        if isinstance(value, int | float):
            return (NUMBER, "", repr(value)) if value == value else (EMPTY, "", "")
        value = cell_text(value)
    found = _AMOUNT.fullmatch(value)
    if found is None:
        return (BAD if value.strip() else EMPTY), "", ""
    group = found.lastgroup or ""
    return _KIND_OF_GROUP[group], found["sign"], found[group]


def _to_decimal(value: Any, style: int) -> Decimal | None:
    kind, sign, body = _amount_parts(value)
    if kind == EMPTY:
        return None
    if kind == BAD:
        return INVALID
    if kind == DE or (kind in (AMB_DOT, AMB_COMMA) and style == DE):
        return Decimal(sign + body.replace(".", "").replace(",", "."))
    return Decimal(sign + body.replace(",", ""))


# --- dates ------------------------------------------------------------------------------

_GERMAN_DATE = re.compile(
    r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)
_ISO_DATE = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T\s](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?"
)
_YEARS = range(1900, 2101)


def parse_dates(cells: Cells, tz: str) -> tuple[Column, np.ndarray]:
    """Aware UTC datetimes, and the same as int64 nanoseconds (NAT where empty or bad).

    Times without an offset are local times in ``tz``. Of an ambiguous local time (the
    hour repeated when summer time ends) the first is taken; a time skipped when summer
    time starts is moved forward to the first valid time.
    """
    parsed = [_parse_date(u) for u in cells.uniques]
    utc: list[datetime | None] = [
        p.astimezone(UTC) if isinstance(p, datetime) and p.tzinfo else None for p in parsed
    ]
    local_at = [i for i, p in enumerate(parsed) if isinstance(p, datetime) and not p.tzinfo]
    if local_at:
        local = pd.DatetimeIndex([parsed[i] for i in local_at]).tz_localize(
            tz, ambiguous=np.ones(len(local_at), dtype=bool), nonexistent="shift_forward"
        )
        for i, moment in zip(local_at, local.tz_convert("UTC").to_pydatetime(), strict=True):
            utc[i] = moment
    n = len(parsed)
    values = np.empty(n + 1, dtype=object)
    values[:-1] = utc
    nanos = np.full(n + 1, NAT, dtype=np.int64)
    nanos[:-1] = [pd.Timestamp(u).value if u is not None else NAT for u in utc]
    bad = np.zeros(n + 1, dtype=bool)
    bad[:-1] = [p is INVALID for p in parsed]
    missing = np.ones(n + 1, dtype=bool)
    missing[:-1] = [p is None for p in parsed]
    codes = cells.codes
    return Column(values[codes], bad[codes], missing[codes]), nanos[codes]


def _parse_date(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.year in _YEARS else INVALID
    text = cell_text(value).strip()
    if not text:
        return None
    if found := _GERMAN_DATE.fullmatch(text):
        day, month, year, hour, minute, second = found.groups()
        year = int(year) + (2000 if int(year) < 69 else 1900) if len(year) == 2 else int(year)
        offset = None
    elif found := _ISO_DATE.fullmatch(text):
        year, month, day, hour, minute, second, offset = found.groups()
        year = int(year)
    else:
        return INVALID
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=_offset(offset),
        )
    except ValueError:
        return INVALID
    return moment if moment.year in _YEARS else INVALID


def _offset(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return timezone(-delta if text[0] == "-" else delta)


def format_local(nanos: int, tz: str) -> str:
    """An int64 UTC time as the user wrote it: dd.mm.yyyy[ HH:MM[:SS]] in ``tz``."""
    moment = pd.Timestamp(nanos, tz="UTC").tz_convert(tz)
    if moment.second:
        return moment.strftime("%d.%m.%Y %H:%M:%S")
    if moment.hour or moment.minute:
        return moment.strftime("%d.%m.%Y %H:%M")
    return moment.strftime("%d.%m.%Y")


# --- flags, states, currencies ------------------------------------------------------------

_YES = {"ja", "j", "yes", "y", "1", "true", "wahr", "x"}
_NO = {"nein", "n", "no", "0", "false", "falsch"}


def parse_flags(cells: Cells) -> Column:
    """Yes/no cells (ja/nein, yes/no, 1/0, true/false, wahr/falsch, x) as True/False."""
    return parse_column(cells, _flag)


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = cell_text(value).strip().casefold()
    if not text:
        return None
    if text in _YES:
        return True
    return False if text in _NO else INVALID


STATE_WORDS: dict[str, tuple[str, ...]] = {
    "completed": (
        "abgeschlossen",
        "erledigt",
        "bezahlt",
        "versendet",
        "versandt",
        "geliefert",
        "completed",
        "complete",
        "paid",
        "shipped",
        "delivered",
        "fulfilled",
    ),
    "open": ("offen", "inbearbeitung", "neu", "open", "pending", "processing", "onhold", "new"),
    "cancelled": ("storniert", "abgebrochen", "cancelled", "canceled"),
    "returned": ("retoure", "retourniert", "zurueckgegeben", "returned", "refunded"),
}
_STATE_OF_WORD = {word: state for state, words in STATE_WORDS.items() for word in words}


def parse_states(cells: Cells) -> Column:
    """Order states; an empty status means completed."""
    return parse_column(cells, _state, empty="completed")


def _state(value: Any) -> str:
    key = normalise_header(cell_text(value))
    return _STATE_OF_WORD.get(key, INVALID) if key else "completed"


# A line's position type: goods (True) or a position that is no merchandise (False),
# such as shipping, a voucher or a fee, which adds nothing to revenue (docs/revenue.md).
LINE_TYPE_WORDS: dict[bool, tuple[str, ...]] = {
    True: ("artikel", "freiposition", "stueckliste", "ware", "article", "product", "item"),
    False: (
        "versand",
        "versandkosten",
        "versandposition",
        "porto",
        "gutschein",
        "kupon",
        "rabatt",
        "zahlungsart",
        "gebuehr",
        "zahlungsgebuehr",
        "nachnahmegebuehr",
        "verpackung",
        "shipping",
        "voucher",
        "coupon",
        "discount",
        "fee",
        "packaging",
    ),
}
_LINE_TYPE_OF_WORD = {word: goods for goods, words in LINE_TYPE_WORDS.items() for word in words}


def parse_line_types(cells: Cells) -> Column:
    """Whether each line is goods; an empty position type means goods."""

    def line_type(value: Any) -> bool:
        key = normalise_header(cell_text(value))
        return _LINE_TYPE_OF_WORD.get(key, INVALID) if key else True

    return parse_column(cells, line_type, empty=True)


_CURRENCY = re.compile(r"[A-Z]{3}")
_CURRENCY_SIGNS = {"€": "EUR", "EURO": "EUR"}


def parse_currencies(cells: Cells, default: str) -> Column:
    """ISO currency codes; ``default`` where the cell is empty."""

    def currency(value: Any) -> str:
        text = cell_text(value).strip().upper()
        text = _CURRENCY_SIGNS.get(text, text) or default
        return text if _CURRENCY.fullmatch(text) else INVALID

    return parse_column(cells, currency, empty=default)


def parse_countries(cells: Cells) -> Column:
    """ISO 3166-1 alpha-2 codes of country codes or names (wawi_connectors.countries)."""

    def country(value: Any) -> str | None:
        text = cell_text(value).strip()
        return (country_code(text) or INVALID) if text else None

    return parse_column(cells, country)

"""Seasonal customers and customer × product-group pairs (PRODUCT.md A8).

A unit (a customer, or a customer × product group pair) is *seasonal* when

1. its order days fall into a *season* – a run of at most ``season_max_months``
   consecutive calendar months, wrapping over the new year (November–February) – with
   at least ``season_min_share`` per cent of its order days inside, and
2. it ordered inside that season in at least ``season_min_years`` different years
   (*occurrences*: a season that wraps belongs to the year it starts in).

The season is the shortest such run of months; among runs of the same length the one
holding the most order days, then the earliest in the calendar year. Months are calendar
months of the day numbers the analyser gets, i.e. the business's own days (see
:mod:`.prepare`).

A seasonal unit is judged against its season instead of its year-round rhythm:

* out of season it is never overdue, and its next order is expected at the start of the
  next season;
* it is flagged (``missed``) when the last season that has fully passed brought no order
  – from the day after that season's last day until it orders again (or is lost);
* inside the season, once it ordered this season but fewer times than in a usual season
  (the mean number of order days of its earlier seasons, rounded down), it is overdue
  when the days since its last order pass its *in-season interval* (the mean gap between
  two orders of the same occurrence) times the tolerance; its next order is expected
  after that interval, or at the next season's start when that would fall after the
  season's end or the season's usual orders are done. Before its first order of this
  season it is expected since the season's start (and not flagged before the season
  has passed).

Everything is vectorised over the order days (one sort order, ``bincount`` and a 12-column
month histogram of the candidates only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .rhythm import UnitDays
from .settings import AnalysisSettings

MONTHS = 12
BLOCK = 1 << 18  # candidates whose month histograms are built at once
PRIOR_SEASONS = 2.0  # weight of the population's share of seasons with an order


@dataclass
class Seasons:
    """Season of every unit; ``months == 0`` means not seasonal."""

    start: np.ndarray  # int8 first month of the season, 1–12 (0 = not seasonal)
    months: np.ndarray  # int8 length of the season in months (0 = not seasonal)
    # the rest for the seasonal units only, in the order of ``idx`` (millions of
    # customer × group pairs, a few per cent of them seasonal)
    idx: np.ndarray  # int64 positions of the seasonal units, ascending
    interval: np.ndarray  # float64 mean days between orders within one season, NaN
    per_season: np.ndarray  # float64 mean order days per season before the last one
    last_season: np.ndarray  # int64 start month index of the last season with an order
    last_count: np.ndarray  # int32 order days in that season
    first_season: np.ndarray  # int64 start month index of the first season with an order
    years: np.ndarray  # int32 seasons with an order
    in_days: np.ndarray  # int64 order days inside the season

    @property
    def seasonal(self) -> np.ndarray:
        return self.months > 0

    def spread(self, values: np.ndarray) -> np.ndarray:
        """Values of the seasonal units as a float array over all units (NaN elsewhere)."""
        out = np.full(len(self.months), np.nan)
        out[self.idx] = values
        return out


@dataclass
class SeasonState:
    """Where each seasonal unit stands on the ``as_of`` day (meaningless for the others)."""

    in_season: np.ndarray  # bool
    missed: np.ndarray  # bool: the last full season passed without an order
    late: np.ndarray  # bool: in season, ordered this season, in-season interval passed
    expected_next: np.ndarray  # float64 day number of the expected next order, NaN
    # seasonal units only (``Seasons.idx``): the next stretch of season in which an
    # order is still to come, days from–to, and the seasons since the first one with
    # an order (this one too if it brought an order already)
    open_from: np.ndarray  # int64 day number
    open_to: np.ndarray  # int64 day number
    seasons: np.ndarray  # int64


def _through_table(values: np.ndarray, convert) -> np.ndarray:
    """``convert(values)`` computed once per distinct value of their (short) range:
    calendar conversions of datetime64 cost far more than a lookup."""
    values = np.asarray(values)
    if not len(values):
        return values.astype(np.int64)
    lo = int(values.min())
    return convert(np.arange(lo, int(values.max()) + 1, dtype=np.int64))[values - lo]


def month_index(days: np.ndarray) -> np.ndarray:
    """Months since January 1970 of day numbers (int64)."""
    return _through_table(
        days, lambda d: d.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    )


def month_start(months: np.ndarray) -> np.ndarray:
    """Day number of the first day of month indexes (months since January 1970)."""
    return _through_table(
        months, lambda m: m.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    )


def _distinct_days(unit: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not len(unit):
        return unit, day
    new = np.ones(len(unit), dtype=bool)
    new[1:] = (unit[1:] != unit[:-1]) | (day[1:] != day[:-1])
    return unit[new], day[new]


def _runs_of(unit: np.ndarray) -> np.ndarray:
    """True where a row is the first of its unit (rows sorted by unit)."""
    first = np.ones(len(unit), dtype=bool)
    first[1:] = unit[1:] != unit[:-1]
    return first


def _ends_of(unit: np.ndarray) -> np.ndarray:
    """True where a row is the last of its unit (rows sorted by unit)."""
    last = np.ones(len(unit), dtype=bool)
    last[:-1] = unit[1:] != unit[:-1]
    return last


def _shortest_season(
    hist: np.ndarray, max_months: int, min_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """(start month 0–11, length; 0 = none) of the shortest run holding ``min_share``."""
    n = len(hist)
    need = hist.sum(axis=1) * (min_share / 100.0) - 1e-9
    cum = np.zeros((n, 2 * MONTHS + 1), dtype=hist.dtype)
    np.cumsum(np.concatenate([hist, hist], axis=1), axis=1, out=cum[:, 1:])
    start = np.zeros(n, dtype=np.int8)
    length = np.zeros(n, dtype=np.int8)
    # the longest run first: only the units it fits can have a shorter one
    widest = (cum[:, max_months : max_months + MONTHS] - cum[:, :MONTHS]).max(axis=1)
    fits = np.flatnonzero(widest >= need)
    cum, need = cum[fits], need[fits]
    rows = np.arange(len(fits))
    for months in range(1, max_months + 1):
        covered = cum[:, months : months + MONTHS] - cum[:, :MONTHS]  # run starting at s
        best = covered.argmax(axis=1)
        found = (length[fits] == 0) & (covered[rows, best] >= need)
        start[fits[found]] = best[found]
        length[fits[found]] = months
    return start, length


def _own_windows(
    unit: np.ndarray,
    month: np.ndarray,
    n_units: int,
    *,
    min_years: int,
    max_months: int,
    min_share: float,
    min_days: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(start month 0–11, length; 0 = none) per unit, from distinct order days."""
    start = np.zeros(n_units, dtype=np.int8)
    length = np.zeros(n_units, dtype=np.int8)
    first, last = _runs_of(unit), _ends_of(unit)
    span = np.zeros(n_units, dtype=np.int64)
    span[unit[last]] = month[last]
    span[unit[first]] -= month[first]
    # k seasons 12 months apart span at least 12 (k − 1) − (length − 1) months
    candidate = span >= MONTHS * (min_years - 1) - (max_months - 1)
    candidate &= np.bincount(unit, minlength=n_units) >= min_days
    rows = candidate[unit]
    if not rows.any():
        return start, length
    c_units = np.flatnonzero(candidate)
    c_unit = (np.cumsum(candidate, dtype=np.int32) - 1)[unit[rows]]  # candidate position
    key = c_unit * MONTHS + (month[rows] % MONTHS).astype(np.int32)
    most = int(np.bincount(c_unit).max())  # a run of months sums at most this
    small = np.int16 if 2 * most < np.iinfo(np.int16).max else np.int32
    # month histograms of a block of candidates at a time: bincount counts in int64
    bounds = np.searchsorted(key, np.arange(0, len(c_units) + BLOCK, BLOCK) * MONTHS)
    for block, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        first_c = block * BLOCK
        units = c_units[first_c : first_c + BLOCK]
        hist = np.bincount(key[lo:hi] - first_c * MONTHS, minlength=len(units) * MONTHS)
        hist = hist.astype(small).reshape(len(units), MONTHS)
        start[units], length[units] = _shortest_season(hist, max_months, min_share)
    return start, length


def find_seasons(
    unit: np.ndarray,
    day: np.ndarray,
    n_units: int,
    *,
    min_years: int,
    max_months: int,
    min_share: float,
    min_days: int = 2,
) -> Seasons:
    """Seasons of units from their valid order days, given sorted by (unit, day)."""
    none = np.zeros(0, dtype=np.int64)
    out = Seasons(
        start=np.zeros(n_units, dtype=np.int8),
        months=np.zeros(n_units, dtype=np.int8),
        idx=none,
        interval=none.astype(np.float64),
        per_season=none.astype(np.float64),
        last_season=none,
        last_count=none,
        first_season=none,
        years=none,
        in_days=none,
    )
    if max_months < 1 or not len(unit):
        return out
    unit, day = _distinct_days(unit, day)
    month = month_index(day)
    start, length = _own_windows(
        unit,
        month,
        n_units,
        min_years=min_years,
        max_months=max_months,
        min_share=min_share,
        min_days=min_days,
    )
    has = np.flatnonzero(length > 0)  # units with a season; the rest is done
    if not len(has):
        return out
    code = np.full(n_units, -1, dtype=np.int32)
    code[has] = np.arange(len(has), dtype=np.int32)
    rows = code[unit] >= 0
    c_unit, day, month = code[unit[rows]], day[rows], month[rows]
    c_start, c_length, nh = start[has], length[has], len(has)

    # seasons with an order: in-season rows, counted once per season start month
    rel = (month % MONTHS - c_start[c_unit]) % MONTHS
    inside = rel < c_length[c_unit]
    n_inside = np.bincount(c_unit[inside], minlength=nh)
    i_unit, i_day, occurrence = c_unit[inside], day[inside], (month - rel)[inside]
    new_occ = _runs_of(i_unit) | np.r_[True, occurrence[1:] != occurrence[:-1]]
    years = np.bincount(i_unit[new_occ], minlength=nh)
    seasonal = years >= min_years

    same_occ = ~new_occ  # a gap between two orders of one season
    gap_owner = i_unit[same_occ]
    gaps = np.diff(i_day, prepend=0)[same_occ].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_gap = np.bincount(gap_owner, weights=gaps, minlength=nh) / np.bincount(
            gap_owner, minlength=nh
        )
    # the first and the last season with an order (the last may still be running)
    first_season = np.full(nh, -1, dtype=np.int64)
    first_row = _runs_of(i_unit)
    first_season[i_unit[first_row]] = occurrence[first_row]
    last_season = np.full(nh, -1, dtype=np.int64)
    last_row = _ends_of(i_unit)
    last_season[i_unit[last_row]] = occurrence[last_row]
    last_count = np.bincount(i_unit[occurrence == last_season[i_unit]], minlength=nh)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_season = (n_inside - last_count) / (years - 1)  # NaN with one season only

    keep = has[seasonal]
    out.start[keep] = c_start[seasonal] + 1
    out.months[keep] = c_length[seasonal]
    out.idx = keep
    out.interval = mean_gap[seasonal]
    out.per_season = per_season[seasonal]
    out.first_season = first_season[seasonal]
    out.last_season = last_season[seasonal]
    out.last_count = last_count[seasonal]
    out.years = years[seasonal]
    out.in_days = n_inside[seasonal]
    return out


def season_state(
    seasons: Seasons, last_day: np.ndarray, as_of_day: int, tolerance: float
) -> SeasonState:
    """Judge every seasonal unit's last order day against its season on the ``as_of``
    day (computed for the seasonal units only; the others get False / NaN)."""
    n = len(seasons.start)
    out = SeasonState(
        in_season=np.zeros(n, dtype=bool),
        missed=np.zeros(n, dtype=bool),
        late=np.zeros(n, dtype=bool),
        expected_next=np.full(n, np.nan),
        open_from=np.zeros(0, dtype=np.int64),
        open_to=np.zeros(0, dtype=np.int64),
        seasons=np.zeros(0, dtype=np.int64),
    )
    idx = seasons.idx
    if not len(idx):
        return out
    months, last = seasons.months[idx], last_day[idx]
    interval, per_season = seasons.interval, seasons.per_season
    as_of_month = int(month_index(np.array([as_of_day]))[0])
    rel = (as_of_month % MONTHS - (seasons.start[idx].astype(np.int64) - 1)) % MONTHS
    current = as_of_month - rel  # start month of the season now running or last begun
    in_season = rel < months
    current_start = month_start(current)
    # the last season that has fully passed: the one before a running season
    passed_start = np.where(in_season, month_start(current - MONTHS), current_start)
    next_start = month_start(current + MONTHS)
    this_count = np.where(seasons.last_season == current, seasons.last_count, 0)
    ordered_now = in_season & (this_count > 0)
    # more orders are expected this season while it has fewer than a usual season
    more = ordered_now & (this_count < np.floor(per_season))
    season_end = month_start(current + months) - 1
    with np.errstate(invalid="ignore"):
        due = last + np.round(interval)
        out.late[idx] = more & (as_of_day - last > interval * tolerance)
    expected = np.where(more & (due <= season_end), due, next_start)
    out.expected_next[idx] = np.where(in_season & ~ordered_now, current_start, expected)
    out.in_season[idx] = in_season
    out.missed[idx] = last < passed_start
    still_open = in_season & (~ordered_now | more)  # this season may bring an order yet
    out.open_from = np.where(still_open, as_of_day + 1, next_start)
    next_end = month_start(current + MONTHS + months) - 1
    out.open_to = np.where(still_open, season_end, next_end)
    counted = np.where(ordered_now | ~in_season, current, current - MONTHS)
    out.seasons = (counted - seasons.first_season) // MONTHS + 1
    return out


def outlook(
    judged: Judged, n_days: np.ndarray, p_any: np.ndarray, as_of_day: int, horizon_days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P(alive), P(an order in the horizon), expected order days in it if active) per
    seasonal unit; P(alive) is the chance of an order in its next season (or outside).

    ``p_any`` is the year-round model's P(an order in the horizon); a seasonal unit's
    orders outside its season (at most ``100 − season_min_share`` per cent) come with
    that chance times its share of order days outside the season (½ an order day added
    to both counts, so never quite zero).

    An order can only come in the stretch of season the horizon reaches (the rest of a
    season still open, or the next season); the chance of an order in a season is the
    share of the unit's seasons that brought one, shrunk towards the share over all
    seasonal units with ``PRIOR_SEASONS`` seasons' weight ((k + 2 r) / (n + 2)), so
    missed seasons count against it. Its usual number of orders in a season is spread
    evenly over the season: the expected orders are that number times the part of the
    stretch inside the horizon, and an order comes if the season comes and one of them
    falls inside (1 − (1 − part)^orders). NaN for the others.
    """
    seasons, state = judged.seasons, judged.state
    idx = seasons.idx
    end = as_of_day + horizon_days
    rate = float(seasons.years.sum()) / max(int(state.seasons.sum()), 1)  # all seasonal
    with np.errstate(invalid="ignore", divide="ignore"):
        covered = (np.minimum(end, state.open_to) - state.open_from + 1) / (
            state.open_to - state.open_from + 1
        )
        covered = np.clip(covered, 0.0, 1.0)
        chance = (seasons.years + PRIOR_SEASONS * rate) / (state.seasons + PRIOR_SEASONS)
        usual = np.where(np.isfinite(seasons.per_season), seasons.per_season, seasons.last_count)
    usual = np.maximum(usual, 1.0)
    reached = 1.0 - (1.0 - covered) ** usual  # one of its usual orders falls inside
    chance = np.clip(chance, 0.0, 1.0)
    off_share = (n_days[idx] - seasons.in_days + 0.5) / (n_days[idx] + 1.0)
    off_season = 1.0 - np.nan_to_num(p_any[idx]) * off_share
    p_alive = seasons.spread(1.0 - (1.0 - chance) * off_season)
    p_order = seasons.spread(1.0 - (1.0 - chance * reached) * off_season)
    return p_alive, p_order, seasons.spread(usual * covered)


@dataclass
class Judged:
    """Seasons and their verdict on the ``as_of`` day, ready for a scored frame."""

    seasons: Seasons
    state: SeasonState
    flag: np.ndarray  # overdue by the season (replaces the rhythm rule for seasonal units)

    @property
    def seasonal(self) -> np.ndarray:
        return self.seasons.seasonal

    @property
    def label_params(self) -> dict[str, np.ndarray]:
        return {"season_start": self.seasons.start, "season_months": self.seasons.months}

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Reason parameters of the ``season`` / ``group_season`` parts."""
        return {
            **self.label_params,
            "season_missed": self.state.missed,
            "season_interval_days": self.seasons.spread(np.round(self.seasons.interval, 1)),
        }

    def columns(self) -> dict[str, object]:
        """``seasonal``, ``season_start_month``, ``season_months``, ``in_season``."""
        seasonal = self.seasons.seasonal
        return {
            "seasonal": seasonal,
            "season_start_month": pd.arrays.IntegerArray(self.seasons.start, ~seasonal),
            "season_months": pd.arrays.IntegerArray(self.seasons.months, ~seasonal),
            "in_season": self.state.in_season,
        }


def seasons_of(
    unit: np.ndarray,
    day: np.ndarray,
    n_units: int,
    settings: AnalysisSettings,
) -> Seasons:
    """:func:`find_seasons` with the thresholds of ``settings``."""
    return find_seasons(
        unit,
        day,
        n_units,
        min_years=settings.season_min_years,
        max_months=settings.season_max_months,
        min_share=settings.season_min_share,
        min_days=settings.season_min_order_days,
    )


def judge_seasons(
    unit: np.ndarray,
    day: np.ndarray,
    days: UnitDays,
    as_of_day: int,
    settings: AnalysisSettings,
) -> Judged:
    """Find the seasons of units (order days sorted by unit, day) and judge them."""
    seasons = seasons_of(unit, day, len(days.n_days), settings)
    state = season_state(seasons, days.last_day, as_of_day, settings.overdue_tolerance)
    lost = as_of_day - days.last_day > settings.max_overdue_days
    enough = days.n_days >= settings.min_orders_for_rhythm
    return Judged(seasons, state, (state.missed | state.late) & enough & ~lost)

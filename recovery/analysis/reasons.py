"""A5 reasons in words, German and English, re-renderable from stored numbers.

A flag's reason is stored as ``reason_key`` + ``reason_params`` (JSON-safe numbers);
``explain(reason_key, reason_params, locale)`` renders it in any language later. A key
joins one or more parts with ``+`` (``"decline+overdue"``); each part reads its own
parameters:

* ``decline``: current_revenue, reference_revenue, decline_pct, window_months,
  comparison, currency
* ``overdue`` / ``group_overdue``: typical_interval_days, days_since_last_order,
  order_days, and for ``group_overdue`` also product_group
* ``season`` / ``group_season`` (a seasonal customer or pair, :mod:`.season`):
  season_start (month 1–12), season_months, season_missed (the last season passed
  without an order; else the in-season interval passed), season_interval_days,
  days_since_last_order, and for ``group_season`` also product_group; season_named =
  false leaves out "saisonal (…)" when the decline part before it says it already

A ``decline`` of a seasonal customer also carries season_start and season_months and
reads "saisonal (März–Juni): Umsatz …".

Numbers are formatted as Babel does (``recovery.formatting``, percentages with
``format_percent``). Because Babel takes ~30 µs a call and a run renders up to a million
reasons, whole numbers are formatted by a fast path that copies the locale's symbols and
pattern from Babel and is checked against Babel when it is built; anything unusual
(negative amounts, other locales) goes through Babel itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from babel.numbers import format_percent

from ..formatting import NumberFormat, month_range, number_format

PARTS = ("decline", "overdue", "group_overdue", "season", "group_season")

_TEXT = {
    "de": {
        "decline": "Umsatz {cur} {window} gegenüber {ref} {ref_window} ({change})",
        "window_1": "im letzten Monat",
        "window_n": "in den letzten {n} Monaten",
        "ref_prev_1": "im Monat davor",
        "ref_prev_n": "in den {n} Monaten davor",
        "ref_year": "im gleichen Zeitraum des Vorjahres",
        "overdue": "bestellt im Schnitt {every}; letzte Bestellung {ago}",
        "overdue_prior": (
            "Kunden dieser Warengruppe bestellen im Schnitt {every}; einzige Bestellung {ago}"
        ),
        "group_overdue": "bestellt „{group}“ im Schnitt {every}; zuletzt {ago}",
        "group_overdue_prior": "Kunden bestellen „{group}“ im Schnitt {every}; einmal {ago}",
        "seasonal": "saisonal ({months})",
        "season": "{seasonal}{what}; letzte Bestellung {ago}",
        "season_missed": "in der letzten Saison keine Bestellung",
        "season_late": "bestellt in der Saison im Schnitt {every}",
        "group_season": "„{group}“ {seasonal}{what}; zuletzt {ago}",
        "group_season_missed": "in der letzten Saison nicht bestellt",
        "group_season_late": "in der Saison im Schnitt {every} bestellt",
        "every_1": "täglich",
        "every_n": "alle {n} Tage",
        "ago_0": "heute",
        "ago_1": "vor 1 Tag",
        "ago_n": "vor {n} Tagen",
    },
    "en": {
        "decline": "revenue {cur} {window} vs {ref} {ref_window} ({change})",
        "window_1": "in the last month",
        "window_n": "in the last {n} months",
        "ref_prev_1": "in the month before",
        "ref_prev_n": "in the {n} months before",
        "ref_year": "in the same period a year earlier",
        "overdue": "orders {every} on average; last order {ago}",
        "overdue_prior": (
            "customers in this product group order {every} on average; only order {ago}"
        ),
        "group_overdue": "orders “{group}” {every} on average; last time {ago}",
        "group_overdue_prior": "customers order “{group}” {every} on average; once {ago}",
        "seasonal": "seasonal ({months})",
        "season": "{seasonal}{what}; last order {ago}",
        "season_missed": "no order in the last season",
        "season_late": "orders {every} in season on average",
        "group_season": "“{group}” {seasonal}{what}; last time {ago}",
        "group_season_missed": "not ordered in the last season",
        "group_season_late": "ordered {every} in season on average",
        "every_1": "every day",
        "every_n": "every {n} days",
        "ago_0": "today",
        "ago_1": "1 day ago",
        "ago_n": "{n} days ago",
    },
}

EXCLUSION_LABELS = {
    "de": {
        "no_orders": "keine gültige Bestellung",
        "cancelled_only": "nur stornierte oder retournierte Bestellungen",
        "excluded": "ausgeschlossen",
        "no_interest": "kein Interesse",
        "customer_group": "Kundengruppe ausgeschlossen",
        "company": "Firma ausgeschlossen",
        "open_order": "offener Auftrag",
    },
    "en": {
        "no_orders": "no valid order",
        "cancelled_only": "only cancelled or returned orders",
        "excluded": "excluded",
        "no_interest": "no interest",
        "customer_group": "customer group excluded",
        "company": "company excluded",
        "open_order": "open order",
    },
}


def language(locale: str) -> str:
    return "en" if str(locale).lower().startswith("en") else "de"


@lru_cache(maxsize=512)
def _percent(change: int, locale: str) -> str:
    # typographic minus as in "−57 %"
    return format_percent(change / 100, locale=locale).replace("-", "\u2212")


def _count(text: Mapping[str, str], stem: str, n: int, fmt: NumberFormat) -> str:
    if n in (0, 1) and f"{stem}_{n}" in text:
        return text[f"{stem}_{n}"]
    return text[f"{stem}_n"].format(n=fmt.integer(n))


def _column(columns: Mapping[str, Any], name: str, n: int, default: Any = None) -> Sequence:
    """A column of ``columns`` as a list of length ``n`` (scalars are broadcast)."""
    value = columns.get(name, default)
    if isinstance(value, str) or not hasattr(value, "__len__"):
        return [value] * n
    return value.tolist() if hasattr(value, "tolist") else value


def _decline(
    cols: Mapping[str, Any], n: int, text: Mapping[str, str], fmt: NumberFormat
) -> list[str]:
    phrases: dict[tuple[int, str], tuple[str, str]] = {}

    def windows(months: int, comparison: str) -> tuple[str, str]:
        key = (months, comparison)
        if key not in phrases:
            ref = (
                text["ref_year"]
                if comparison == "same_period_last_year"
                else _count(text, "ref_prev", months, fmt)
            )
            phrases[key] = (_count(text, "window", months, fmt), ref)
        return phrases[key]

    template, money = text["decline"], fmt.whole_money

    def change(decline_pct: float) -> str:
        return _percent(-round(decline_pct), fmt.locale)

    rows = zip(
        _column(cols, "current_revenue", n),
        _column(cols, "reference_revenue", n),
        _column(cols, "decline_pct", n),
        _column(cols, "window_months", n),
        _column(cols, "comparison", n, "previous_period"),
        _column(cols, "season_start", n),
        _column(cols, "season_months", n),
        strict=True,
    )
    return [
        _seasonal_prefix(text, fmt, first, months)
        + template.format(
            cur=money(cur), ref=money(ref), window=w, ref_window=rw, change=change(pct)
        )
        for cur, ref, pct, m, comp, first, months in rows
        for w, rw in (windows(int(m), comp),)
    ]


def _season_label(text: Mapping[str, str], fmt: NumberFormat, first: Any, months: Any) -> str:
    """ "saisonal (März–Juni)"; empty without a season."""
    if not first or not months:
        return ""
    return text["seasonal"].format(months=month_range(int(first), int(months), fmt.locale))


def _seasonal_prefix(text: Mapping[str, str], fmt: NumberFormat, first: Any, months: Any) -> str:
    label = _season_label(text, fmt, first, months)
    return f"{label}: " if label else ""


def _season(
    part: str, cols: Mapping[str, Any], n: int, text: Mapping[str, str], fmt: NumberFormat
) -> list[str]:
    out = []
    rows = zip(
        _column(cols, "season_start", n),
        _column(cols, "season_months", n),
        _column(cols, "season_missed", n, True),
        _column(cols, "season_interval_days", n),
        _column(cols, "days_since_last_order", n),
        _column(cols, "product_group", n, ""),
        _column(cols, "season_named", n, True),
        strict=True,
    )
    for first, months, missed, interval, since, group, named in rows:
        if missed or interval is None:
            what = text[f"{part}_missed"]
        else:
            what = text[f"{part}_late"].format(
                every=_count(text, "every", max(1, round(interval)), fmt)
            )
        out.append(
            text[part].format(
                seasonal=_seasonal_prefix(text, fmt, first, months) if named else "",
                what=what,
                ago=_count(text, "ago", int(since), fmt),
                group=group,
            )
        )
    return out


def _overdue(
    part: str, cols: Mapping[str, Any], n: int, text: Mapping[str, str], fmt: NumberFormat
) -> list[str]:
    own, prior = text[part], text[f"{part}_prior"]
    every = {}
    ago = {}
    out = []
    rows = zip(
        _column(cols, "typical_interval_days", n),
        _column(cols, "days_since_last_order", n),
        _column(cols, "order_days", n, 2),
        _column(cols, "product_group", n, ""),
        strict=True,
    )
    for interval, since, days, group in rows:
        interval, since = max(1, round(interval)), int(since)
        if interval not in every:
            every[interval] = _count(text, "every", interval, fmt)
        if since not in ago:
            ago[since] = _count(text, "ago", since, fmt)
        template = own if int(days) >= 2 else prior
        out.append(template.format(every=every[interval], ago=ago[since], group=group))
    return out


def render_part(
    part: str, columns: Mapping[str, Any], n: int, locale: str = "de", currency: str = "EUR"
) -> list[str]:
    """Texts of one reason part for ``n`` rows given column-wise (the bulk path)."""
    if part not in PARTS:
        raise ValueError(f"unknown reason part {part!r}")
    lang = language(locale)
    text, fmt = _TEXT[lang], number_format(lang, currency)
    if part == "decline":
        return _decline(columns, n, text, fmt)
    if part in ("season", "group_season"):
        return _season(part, columns, n, text, fmt)
    return _overdue(part, columns, n, text, fmt)


def _json_list(values: Any, rows: np.ndarray) -> list[Any]:
    """Python values of ``values[rows]`` (scalars repeated), NaN as None."""
    if not isinstance(values, np.ndarray):
        return [values] * len(rows)
    picked = values[rows]
    out = picked.tolist()
    if picked.dtype.kind == "f" and np.isnan(picked).any():
        out = [None if v != v else v for v in out]
    return out


def reason_columns(
    n: int,
    parts: Sequence[tuple[str, np.ndarray, Mapping[str, Any]]],
    locale: str,
    currency: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``reason_key``, ``reason_params`` and ``reason`` columns for ``n`` rows.

    ``parts`` lists (part, mask, columns): the rows in ``mask`` get that part, with
    the parameters taken from ``columns`` (arrays of length ``n`` or scalars). Rows
    without any part stay None.
    """
    key = np.full(n, None, dtype=object)
    params = np.full(n, None, dtype=object)
    text = np.full(n, None, dtype=object)
    for name, mask, columns in parts:
        rows = np.flatnonzero(mask)
        if not len(rows):
            continue
        picked = {k: _json_list(v, rows) for k, v in columns.items()}
        new_text = np.empty(len(rows), dtype=object)
        new_text[:] = render_part(name, picked, len(rows), locale, currency)
        new_params = np.empty(len(rows), dtype=object)
        new_params[:] = [
            dict(zip(picked, values, strict=True)) for values in zip(*picked.values(), strict=True)
        ]
        new_key = np.full(len(rows), name, dtype=object)
        had = np.flatnonzero(key[rows] != None)  # noqa: E711 – elementwise on objects
        if len(had):
            both = rows[had]
            new_key[had] = key[both] + ("+" + name)
            new_text[had] = text[both] + "; " + new_text[had]
            new_params[had] = [
                {**old, **new} for old, new in zip(params[both], new_params[had], strict=True)
            ]
        key[rows], params[rows], text[rows] = new_key, new_params, new_text
    return key, params, text


def explain(reason_key: str, reason_params: Mapping[str, Any], locale: str = "de") -> str:
    """Render a stored reason in ``locale`` ('de' or 'en'; others fall back to German)."""
    currency = str(reason_params.get("currency", "EUR"))
    parts = [
        render_part(part, reason_params, 1, locale, currency)[0] for part in reason_key.split("+")
    ]
    return "; ".join(parts)


def explain_many(reasons: Sequence[tuple[str, Mapping[str, Any]]], locale: str = "de") -> list[str]:
    """``explain`` for many ``(reason_key, reason_params)`` at once (an export's chunk).

    Rows with the same key and currency are rendered together by the bulk path; the
    texts equal ``explain``'s row by row. Raises as ``explain`` would on a bad reason.
    """
    out = [""] * len(reasons)
    # Together only what has the same key, currency and parameter names: a parameter
    # missing from one row takes its default, as in ``explain``.
    groups: dict[tuple[str, str, tuple[str, ...]], list[int]] = {}
    for i, (key, params) in enumerate(reasons):
        group = (key, str(params.get("currency", "EUR")), tuple(params))
        groups.setdefault(group, []).append(i)
    for (key, currency, names), rows in groups.items():
        params = [reasons[i][1] for i in rows]
        columns = {name: [p[name] for p in params] for name in names}
        parts = [render_part(part, columns, len(rows), locale, currency) for part in key.split("+")]
        for j, i in enumerate(rows):
            out[i] = "; ".join(texts[j] for texts in parts)
    return out


def exclusion_label(reason: str, locale: str = "de") -> str:
    """Words for an ``excluded_reason`` code; unknown codes (custom reasons) pass through."""
    return EXCLUSION_LABELS[language(locale)].get(reason, reason)

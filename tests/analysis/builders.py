"""Small builders for order-line frames in the analysis tests."""

from __future__ import annotations

from typing import Any

import pandas as pd


def line(
    customer: Any,
    order: Any,
    when: str,
    amount: float,
    group: str = "Kaffee",
    company: str = "Shop A",
    state: str | None = None,
    gross: float | None = None,
    customer_group: str | None = "Endkunde",
) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "order_id": order,
        "ordered_at": when,
        "net_amount": amount,
        "product_group": group,
        "company": company,
        "state": state,
        "gross_amount": gross,
        "customer_group": customer_group,
    }


def frame(*lines: dict[str, Any], tz: str | None = None) -> pd.DataFrame:
    df = pd.DataFrame(list(lines))
    df["ordered_at"] = pd.to_datetime(df["ordered_at"], format="ISO8601")
    if tz:
        df["ordered_at"] = df["ordered_at"].dt.tz_localize(tz)
    return df


def every(customer: Any, start: str, days: int, count: int, amount: float = 100.0, **kw):
    """``count`` orders of ``customer`` every ``days`` days from ``start``."""
    first = pd.Timestamp(start)
    return [
        line(
            customer,
            f"{customer}-{i}",
            str((first + pd.Timedelta(days=days * i)).date()),
            amount,
            **kw,
        )
        for i in range(count)
    ]


def row(result: pd.DataFrame, customer: Any) -> pd.Series:
    return result.set_index("customer_id").loc[customer]


def demo_like_history(seed: int = 0, customers: int = 1200, end: str = "2024-12-31"):
    """A seeded, vectorised three-year history shaped like the demo business.

    Archetypes (shares as in ``recovery.demo``): regular buyers with their own rhythm
    (7–120 days, ±15 % jitter) up to the end; *stopped* ones, regular until 4–20 months
    before the end; *decliners* who skip most orders in their last 8–13 months; *new*
    customers; *occasional* buyers with 2–6 orders at random days; one-time buyers.
    One line per order, product group "Kaffee", company "Shop A".
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    span = 3 * 365
    shares = {
        "regular": 0.35,
        "stopped": 0.15,
        "occasional": 0.17,
        "one_time": 0.20,
        "new": 0.08,
        "decliner": 0.05,
    }
    kind = rng.choice(len(shares), customers, p=list(shares.values()))
    is_ = {name: kind == i for i, name in enumerate(shares)}
    start = rng.integers(0, 2 * 365, customers).astype(float)
    start[is_["new"]] = rng.integers(span - 420, span - 200, int(is_["new"].sum()))
    stop = np.full(customers, float(span))
    stop[is_["stopped"]] = span - rng.integers(125, 600, int(is_["stopped"].sum()))
    start = np.minimum(start, stop - 60)
    interval = np.clip(np.exp(rng.normal(np.log(35), 0.6, customers)), 7, 120)
    steps = span // 7 + 2
    gaps = interval[:, None] * np.exp(rng.normal(0, 0.15, (customers, steps)))
    offsets = np.concatenate([np.zeros((customers, 1)), np.cumsum(gaps, axis=1)[:, :-1]], axis=1)
    days = start[:, None] + offsets
    keep = days <= stop[:, None]
    change = span - rng.integers(240, 400, customers)
    skipped = (days > change[:, None]) & (rng.random(days.shape) < 0.6)
    keep &= ~(is_["decliner"][:, None] & skipped)
    rhythmic = is_["regular"] | is_["stopped"] | is_["new"] | is_["decliner"]
    keep &= rhythmic[:, None]
    cust, step = np.nonzero(keep)
    day = days[cust, step]
    occasional = np.flatnonzero(is_["occasional"])
    occ_cust = np.repeat(occasional, rng.integers(2, 7, len(occasional)))
    occ_day = rng.uniform(start[occ_cust], span)
    once = np.flatnonzero(is_["one_time"])
    cust = np.concatenate([cust, occ_cust, once])
    day = np.concatenate([day, occ_day, rng.uniform(0, span - 181, len(once))]).astype(int)
    origin = pd.Timestamp(end) - pd.Timedelta(days=span)
    return pd.DataFrame(
        {
            "customer_id": cust + 10001,
            "order_id": np.arange(len(cust)) + 1,
            "ordered_at": origin + pd.to_timedelta(day, unit="D"),
            "net_amount": np.round(rng.lognormal(4, 0.6, len(cust)), 2),
            "product_group": "Kaffee",
            "company": "Shop A",
        }
    )


def read_demo_export(path) -> pd.DataFrame:
    """The demo business's order export (``recovery.demo``) as the analyser's lines."""
    raw = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig")
    states = {"abgeschlossen": "completed", "offen": "open", "storniert": "cancelled"}
    return pd.DataFrame(
        {
            "customer_id": raw["Kundennummer"],
            "order_id": raw["Auftragsnummer"],
            "ordered_at": pd.to_datetime(raw["Belegdatum"], format="%d.%m.%Y"),
            "net_amount": pd.to_numeric(
                raw["Netto"].str.replace(".", "", regex=False).str.replace(",", ".")
            ),
            "product_group": raw["Warengruppe"],
            "company": raw["Firma"],
            "state": raw["Status"].map({**states, "retoure": "returned"}),
            "customer_group": raw["Kundengruppe"],
        }
    )


def read_cdnow(path, master: bool = False) -> pd.DataFrame:
    """CDNOW's transactions as the analyser's lines: the sample in ``tests/data`` (master
    id, sample id, date, CDs, dollars) or the master file (a header, then master id,
    date, CDs, dollars; the id is the master id)."""
    import numpy as np

    names = ["customer_id", "date", "cds", "amount"]
    if master:
        raw = pd.read_csv(path, sep=r"\s+", header=None, names=names, skiprows=1)
    else:
        raw = pd.read_csv(path, sep=r"\s+", header=None, names=["master_id", *names])
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "order_id": np.arange(len(raw)),
            "ordered_at": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"),
            "net_amount": raw["amount"],
            "product_group": "CD",
            "company": "CDNOW",
        }
    )

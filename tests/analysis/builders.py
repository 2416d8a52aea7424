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

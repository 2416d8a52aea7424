"""Vectorised generator of a synthetic order-line history (numpy only, no loops per row).

Each customer has an acquisition day, a purchase rate (gamma-distributed: a few heavy
buyers, many light ones), a day on which she stops buying, a favourite product group
and a home company. Orders fall uniformly into each customer's active span; an order has
1–n lines. States: ~3 % cancelled, ~2 % returned, ~1 % open (open orders are recent).

    python bench/analysis/generate.py --lines 1000000 --customers 100000 --out /tmp/l.pkl
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

START = np.datetime64("2019-01-01")
END = np.datetime64("2024-12-31")


def make_lines(
    n_lines: int, n_customers: int, n_groups: int = 30, seed: int = 0, n_companies: int = 3
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    span = int((END - START).astype(int))
    n_orders = max(n_customers, n_lines // 3)

    # customers: acquisition, stop day, buying weight, favourite group, company
    acquired = rng.integers(0, span - 30, n_customers)
    stops = acquired + rng.exponential(span * 0.8, n_customers).astype(np.int64)
    stops = np.minimum(stops, span)
    weight = rng.gamma(0.8, 1.0, n_customers) * (stops - acquired + 30)
    favourite = rng.integers(0, n_groups, n_customers)
    home = rng.integers(0, n_companies, n_customers)

    # every customer orders at least once, the rest by weight
    extra = rng.choice(n_customers, n_orders - n_customers, p=weight / weight.sum())
    o_cust = np.concatenate([np.arange(n_customers), extra])
    o_day = acquired[o_cust] + (rng.random(n_orders) * (stops - acquired)[o_cust]).astype(np.int64)
    o_day[:n_customers] = acquired  # the first order is on the acquisition day
    o_state = rng.choice(4, n_orders, p=[0.94, 0.01, 0.03, 0.02])
    o_state[(o_state == 1) & (o_day < span - 60)] = 0  # open orders are recent
    o_company = np.where(rng.random(n_orders) < 0.9, home[o_cust], rng.integers(0, 3, n_orders))

    # lines: one per order plus the rest spread at random
    l_order = np.sort(
        np.concatenate([np.arange(n_orders), rng.integers(0, n_orders, n_lines - n_orders)])
    )
    l_cust = o_cust[l_order]
    l_group = np.where(
        rng.random(n_lines) < 0.7, favourite[l_cust], rng.integers(0, n_groups, n_lines)
    )
    net = np.round(rng.lognormal(3.5, 1.0, n_lines), 2)
    gross = np.where(rng.random(n_lines) < 0.95, np.round(net * 1.19, 2), np.nan)
    seconds = rng.integers(0, 86400, n_orders)[l_order]
    ordered_at = (START + o_day[l_order].astype("timedelta64[D]")).astype("datetime64[s]") + seconds

    states = np.array(["completed", "open", "cancelled", "returned"])
    return pd.DataFrame(
        {
            "customer_id": (l_cust + 100_000).astype(np.int64),
            "order_id": (l_order + 1).astype(np.int64),
            "ordered_at": ordered_at.astype("datetime64[ns]"),
            "net_amount": net,
            "gross_amount": gross,
            "product_group": pd.Categorical.from_codes(
                l_group, [f"Warengruppe {i:02d}" for i in range(n_groups)]
            ),
            "company": pd.Categorical.from_codes(
                o_company[l_order], [f"Firma {chr(65 + i)}" for i in range(n_companies)]
            ),
            "customer_group": pd.Categorical.from_codes(
                (l_cust % 4), ["Endkunde", "Händler", "Großkunde", "Mitarbeiter"]
            ),
            "state": pd.Categorical.from_codes(o_state[l_order], states),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="pickle file to write")
    args = parser.parse_args()
    make_lines(args.lines, args.customers, args.groups, args.seed).to_pickle(args.out)


if __name__ == "__main__":
    main()

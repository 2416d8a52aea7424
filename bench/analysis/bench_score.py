"""Benchmark ``score_customers`` (and optionally the per-group scoring) on synthetic data.

    python bench/analysis/bench_score.py --lines 10000000 --customers 1000000

The data are generated in a separate process (``generate.py``) and pickled, so the
generator's memory does not count. This process then loads the pickle and reports:

* ``rss_loaded`` – resident memory with the data loaded (the baseline),
* ``peak`` – ``ru_maxrss`` of this process after scoring, i.e. the whole run's peak,
* ``peak - rss_loaded`` – what scoring added on top of the loaded data,
* ``peak_load`` – ``ru_maxrss`` right after loading, to show the peak came from scoring.

Run it with ``PYTHONPATH`` pointing at the repository root (it sets that itself).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from recovery.analysis import (  # noqa: E402
    score_customer_groups,
    score_customers,
    score_customers_and_groups,
)

MB = 1024 * 1024


def rss_now() -> int:
    """Current resident set size in bytes (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description="benchmark score_customers")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=30)
    parser.add_argument("--as-of", default="2024-12-31")
    parser.add_argument("--data", help="pickle written by generate.py (else generated now)")
    parser.add_argument("--groups-too", action="store_true", help="also time per-group scoring")
    parser.add_argument(
        "--together",
        action="store_true",
        help="also time score_customers_and_groups (both on one preparation, as the nightly)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.data
        if path is None:
            path = str(Path(tmp) / "lines.pkl")
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).with_name("generate.py")),
                    "--lines",
                    str(args.lines),
                    "--customers",
                    str(args.customers),
                    "--groups",
                    str(args.groups),
                    "--out",
                    path,
                ],
                check=True,
            )
            print(f"generated in {time.perf_counter() - started:.1f} s (separate process)")
        lines = pd.read_pickle(path)  # noqa: S301 – our own file, written by generate.py
    rss_loaded, peak_load = rss_now(), peak_rss()
    print(
        f"data: {len(lines):,} lines, {lines['customer_id'].nunique():,} customers, "
        f"{lines['product_group'].nunique()} product groups"
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    result = score_customers(lines, args.as_of)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = peak_rss()
    print(f"score_customers: {elapsed:.2f} s wall, {cpu:.2f} s CPU for {len(result):,} customers")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"memory: rss_loaded {rss_loaded / MB:,.0f} MiB, peak_load {peak_load / MB:,.0f} MiB, "
        f"peak {peak / MB:,.0f} MiB, peak - rss_loaded {(peak - rss_loaded) / MB:,.0f} MiB"
    )
    flagged = result[["flag_decline", "flag_overdue"]].sum()
    print(
        f"flags: decline {flagged['flag_decline']:,}, overdue {flagged['flag_overdue']:,}; "
        f"model {result.attrs['model']['model']}"
    )
    if args.groups_too:
        started, cpu_started = time.perf_counter(), time.process_time()
        groups = score_customer_groups(lines, args.as_of)
        print(
            f"score_customer_groups: {time.perf_counter() - started:.2f} s wall, "
            f"{time.process_time() - cpu_started:.2f} s CPU for {len(groups):,} "
            f"customer × group rows; peak {peak_rss() / MB:,.0f} MiB"
        )
    if args.together:
        started, cpu_started = time.perf_counter(), time.process_time()
        customers, groups = score_customers_and_groups(lines, args.as_of)
        print(
            f"score_customers_and_groups: {time.perf_counter() - started:.2f} s wall, "
            f"{time.process_time() - cpu_started:.2f} s CPU for {len(customers):,} customers "
            f"and {len(groups):,} customer × group rows; peak {peak_rss() / MB:,.0f} MiB"
        )


if __name__ == "__main__":
    main()

"""The backtests behind docs/analysis-models.md (issue 17): churn AUC, revenue ranking and
calibration at several cut-offs and horizons, on public data, the demo and synthetic data.

    python bench/analysis/backtest_ranking.py [--cdnow-master PATH] [--only NAME ...]

* CDNOW sample: ``tests/data/CDNOW_sample.txt`` (2,357 customers);
* CDNOW master (23,570 customers, the whole 1997 cohort): ``CDNOW_master.txt`` from the
  ``lifetimes`` 0.11.3 wheel on PyPI (``pip download --no-deps lifetimes==0.11.3``, unzip,
  ``lifetimes/datasets/CDNOW_master.txt``) – given with ``--cdnow-master``;
* the demo business (``recovery.demo``, 2,400 customers up to 2026-11-23) for four seeds;
* synthetic: ``generate.py`` with 300,000 lines and 30,000 customers, seed 0.

One line per backtest: AUC of p_churn / days since the last order / plain BG/NBD, the
models behind p_churn and expected_revenue (``+s``: seasonal customers' forecast from
their season), top 10 % / 20 % of the future revenue held by
expected_revenue, BG/NBD × Gamma-Gamma and past revenue (``yes`` = expected_revenue holds
at least as much as BG/NBD × Gamma-Gamma at both shares), top 20 % of the lost revenue held
by revenue_at_risk, BG/NBD × Gamma-Gamma and past revenue, and the calibration error per
decile before → after, with the calibrator's kind.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from recovery.analysis import backtest  # noqa: E402
from tests.analysis.builders import read_cdnow, read_demo_export  # noqa: E402 – the tests' readers

CDNOW_CUTS = [("1997-09-30", 273), ("1997-12-31", 180), ("1998-01-31", 150), ("1998-03-31", 90)]
DEMO_CUTS = [("2025-11-01", 365), ("2026-03-01", 180), ("2026-05-01", 180), ("2026-08-01", 90)]
SYNTHETIC_CUTS = [("2023-12-31", 365), ("2024-06-30", 180)]


def demo(seed: int, folder: Path) -> pd.DataFrame:
    from recovery.demo.generator import generate_demo_export

    path = folder / f"demo_{seed}.csv"
    generate_demo_export(path, as_of=date(2026, 11, 23), seed=seed, customers=2400)
    return read_demo_export(path)


def synthetic(folder: Path) -> pd.DataFrame:
    path = folder / "synthetic.pkl"
    script = Path(__file__).with_name("generate.py")
    subprocess.run(
        [sys.executable, str(script), "--lines", "300000", "--customers", "30000"]
        + ["--seed", "0", "--out", str(path)],
        check=True,
    )
    return pd.read_pickle(path)  # noqa: S301 – our own file, written by generate.py


def line(name: str, as_of: str, horizon: int, lines: pd.DataFrame) -> str:
    r = backtest(lines, as_of, horizon_days=horizon)
    rank = {m.ranking: m for m in r.ranking}
    e, b, p, a = (
        rank[k] for k in ("expected_revenue", "bgnbd_gg", "past_revenue", "revenue_at_risk")
    )
    wins = e.top10_future >= b.top10_future and e.top20_future >= b.top20_future
    calibrator = ((r.model.get("time_split") or {}).get("calibrator") or {}).get("kind") or "–"
    revenue = r.model.get("revenue_model") + ("+s" if r.model.get("seasonal_revenue") else "")
    return (
        f"{name:<13}{as_of} {horizon:>3} d  {r.auc_p_churn:.3f} {r.auc_days_since_last_order:.3f} "
        f"{r.auc_bgnbd:.3f} {r.model.get('model'):<8}{revenue:<10}"
        f"{e.top10_future:.3f}/{e.top20_future:.3f} {b.top10_future:.3f}/{b.top20_future:.3f} "
        f"{p.top10_future:.3f}/{p.top20_future:.3f} {'yes' if wins else 'NO':<4}"
        f"{a.top20_lost:.3f} {b.top20_lost:.3f} {p.top20_lost:.3f}  "
        f"{r.calibration_error_uncalibrated:.3f}→{r.calibration_error:.3f} {calibrator}"
    )


Case = tuple[str, Callable[[], pd.DataFrame], list[tuple[str, int]]]


def cases(cdnow_master: Path | None, folder: Path, only: list[str]) -> list[Case]:
    """The backtests: (name, loader of the lines, cut-offs with horizons); ``only`` keeps
    the cases whose name contains one of its strings (all when empty)."""
    found: list[Case] = [
        ("CDNOW sample", lambda: read_cdnow(ROOT / "tests/data/CDNOW_sample.txt"), CDNOW_CUTS)
    ]
    if cdnow_master:
        found.append(("CDNOW master", lambda: read_cdnow(cdnow_master, master=True), CDNOW_CUTS))
    for seed in (42, 1, 7, 123):
        found.append((f"demo {seed}", lambda seed=seed: demo(seed, folder), DEMO_CUTS))
    found.append(("synthetic", lambda: synthetic(folder), SYNTHETIC_CUTS))
    return [c for c in found if not only or any(o in c[0] for o in only)]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cdnow-master", type=Path, help="CDNOW_master.txt (see above)")
    parser.add_argument("--only", nargs="*", default=[], help="only cases whose name has this")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    with tempfile.TemporaryDirectory() as tmp:
        for name, load, cuts in cases(args.cdnow_master, Path(tmp), args.only):
            lines = load()
            for as_of, horizon in cuts:
                print(line(name, as_of, horizon, lines), flush=True)


if __name__ == "__main__":
    main()

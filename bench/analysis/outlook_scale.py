"""On which scale the seasonal customers' outlook meets the year-round p_churn, and
whether a choice made before the cut-off could pick the better one (docs/analysis-models.md,
"The seasonal customers' scale").

    python bench/analysis/outlook_scale.py [--cdnow-master PATH] [--only NAME ...]

Two ways to give the run's p_churn, which differ only in how the seasonal customers are
ranked among the others (the backtests of ``backtest_ranking.py``):

* **A** (the run since calib): the seasonal customers' p_churn from their season's
  outlook (computed from the raw year-round P(an order)), the others' the raw year-round
  p_churn; the calibrator comes last and keeps this order;
* **C** (before calib): the year-round p_churn calibrated first – scaling learnt on the
  two time splits as the run learns it (``calibrate.forward`` on the year-round p_churn),
  half (C½) or the whole way (C1) – and the outlook computed from it, so the seasonal
  customers are ranked among *calibrated* year-round probabilities.

Only where a year-round calibrator passes the gate (the demo's two-split cut-offs) do
they differ. Per such backtest: AUC(C) − AUC(A) at the recent split (``as_of − h``), the
earlier one (``as_of − 2h``), the split one year back (``as_of − 365``) – each with the
calibrator learnt on the two splits – and at the holdout; there also a paired bootstrap
over the customers (``--draws``) of AUC(C½) − AUC(A), of AUC(A) and of the decile
calibration error's change by the run's calibrator (calibrated − raw): mean, standard
deviation, 95 % interval.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from backtest_ranking import cases  # noqa: E402

from recovery.analysis import calibrate, clv, score, selection  # noqa: E402
from recovery.analysis.backtesting import _horizon  # noqa: E402
from recovery.analysis.metrics import roc_auc  # noqa: E402
from recovery.analysis.prepare import Prepared, prepare  # noqa: E402
from recovery.analysis.season import outlook  # noqa: E402
from recovery.analysis.settings import AnalysisSettings  # noqa: E402


@contextmanager
def calibrated_first(cal: calibrate.Calibrator | None) -> Iterator[None]:
    """C: the run's year-round p_churn calibrated by ``cal`` before the outlook."""
    plain = clv.predict_from
    if cal is None:
        yield
        return

    def predict_from(*args: Any, **kwargs: Any) -> clv.ModelResult:
        result = plain(*args, **kwargs)
        result.p_churn = cal.apply(result.p_churn)
        return result

    clv.predict_from = predict_from
    try:
        yield
    finally:
        clv.predict_from = plain


def split_gain(s: selection._Split | str, model: str, cal: calibrate.Calibrator) -> float:
    """AUC(C) − AUC(A) at a split (NaN: no split or no seasonal customers there)."""
    if isinstance(s, str) or not s.season.seasonal.any() or model not in s.cands.models:
        return float("nan")
    p = s.cands.models[model].p_churn
    auc = []
    for year_round in (p, cal.apply(p)):
        p_order = outlook(s.season, s.n_days, 1.0 - year_round, s.day, s.horizon_days)[1]
        auc.append(roc_auc(np.where(s.season.seasonal, 1.0 - p_order, year_round), s.churned))
    return auc[1] - auc[0]


def holdout(
    prep: Prepared,
    settings: AnalysisSettings,
    lines: pd.DataFrame,
    cal: calibrate.Calibrator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(raw p_churn, the run's p_churn, churned) of the backtest's population."""
    with calibrated_first(cal):
        f = score.score_prepared(prep, settings, None)
    back, _ = _horizon(
        lines, prep.as_of_day, prep.as_of_day + settings.horizon_days, settings.amount_basis
    )
    raw = f["p_churn_uncalibrated"].to_numpy()
    keep = (f["order_days"] > 0).to_numpy() & np.isfinite(raw)
    churned = ~f["customer_id"].isin(back).to_numpy()
    return raw[keep], f["p_churn"].to_numpy()[keep], churned[keep]


def spread(values: list[float]) -> str:
    v = np.asarray(values)
    lo, hi = np.quantile(v, [0.025, 0.975])
    return f"{v.mean():+.4f} sd {v.std():.4f} [{lo:+.4f}, {hi:+.4f}]"


def one(name: str, as_of: str, h: int, lines: pd.DataFrame, draws: int) -> None:
    settings = replace(AnalysisSettings(), horizon_days=h)
    prep = prepare(lines, as_of, settings.amount_basis)
    recent = selection._split(prep, prep.as_of_day - h, h, settings)
    earlier = selection._split(prep, prep.as_of_day - 2 * h, h, settings)
    head = f"{name:<13}{as_of} {h:>3} d"
    if isinstance(recent, str) or isinstance(earlier, str):
        print(f"{head}  no two splits: A only", flush=True)
        return
    chosen = selection.select(prep, h, settings).choice
    model = (chosen.churn if chosen else None) or recent.cands.aic_choice
    p = [s.cands.models[model].p_churn for s in (earlier, recent)]
    cals = {
        w: calibrate.forward(p[0], earlier.churned, p[1], recent.churned, weight=w)[0]
        for w in (0.5, 1.0)
    }
    if cals[0.5] is None:
        print(f"{head}  no year-round calibrator: C = A", flush=True)
        return
    year = selection._split(prep, prep.as_of_day - 365, h, settings)
    raw, shown, y = holdout(prep, settings, lines)
    parts = []
    for w, cal in cals.items():
        if cal is None:
            parts.append(f"C{w:g}: no calibrator")
            continue
        gains = [split_gain(s, model, cal) for s in (recent, earlier, year)]
        c_raw = holdout(prep, settings, lines, cal)[0]
        parts.append(
            f"C{w:g} a={cal.a:.3f} splits rec/ear/year "
            + "/".join(f"{g:+.4f}" for g in gains)
            + f" holdout {roc_auc(c_raw, y) - roc_auc(raw, y):+.4f}"
        )
        if w == 0.5:
            c_half = c_raw
    print(f"{head}  A {roc_auc(raw, y):.4f}  " + "  ".join(parts), flush=True)
    rng = np.random.default_rng(0)
    gain, auc, cal_change = [], [], []
    for _ in range(draws):
        i = rng.integers(0, len(y), len(y))
        a = roc_auc(raw[i], y[i])
        auc.append(a)
        gain.append(roc_auc(c_half[i], y[i]) - a)
        cal_change.append(
            calibrate.decile_error(shown[i], y[i]) - calibrate.decile_error(raw[i], y[i])
        )
    print(
        f"{'':<33}bootstrap C½−A {spread(gain)}; AUC(A) sd {np.std(auc):.4f}; "
        f"calibration change {spread(cal_change)}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cdnow-master", type=Path, help="CDNOW_master.txt")
    parser.add_argument("--only", nargs="*", default=[], help="only cases whose name has this")
    parser.add_argument("--draws", type=int, default=1000, help="bootstrap draws")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, load, cuts in cases(args.cdnow_master, Path(tmp), args.only):
            lines = load()
            for as_of, h in cuts:
                one(name, as_of, h, lines, args.draws)


if __name__ == "__main__":
    main()

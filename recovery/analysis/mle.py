"""Maximum likelihood with bounds: the optimiser shared by the customer-base models.

SLSQP rather than L-BFGS-B: both find the same optimum on these smooth few-parameter
likelihoods (the published CDNOW figures are reproduced either way; on 120 random
BG/NBD and MBG/NBD data sets SLSQP's optimum was never worse by more than 0.003
log-likelihood units), but scipy's L-BFGS-B calls into the threaded BLAS at every
iteration, and on a busy two-core machine those threads cost more than the likelihoods
themselves: 1.1 of the 2.1 s of CPU that ``score_customers`` took on 1,000,000 lines
(``bench/analysis/bench_score.py``, profiled).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult, minimize

Objective = Callable[..., tuple[float, np.ndarray]]


def minimize_bounded(
    objective: Objective,
    starts: Iterable[np.ndarray],
    args: tuple[Any, ...],
    bounds: Sequence[tuple[float, float]],
    *,
    ftol: float = 1e-12,
    maxiter: int = 1000,
) -> OptimizeResult | None:
    """Minimise ``objective`` (value and gradient) from each start until one converges.

    Returns the best finite result (``None`` when every start fails); later starts are
    tried only when the earlier ones did not converge.
    """
    lo, hi = np.array(bounds, dtype=np.float64).T
    best = None
    for x0 in starts:
        with np.errstate(all="ignore"):
            res = minimize(
                objective,
                np.clip(np.asarray(x0, dtype=np.float64), lo, hi),
                args=args,
                jac=True,
                method="SLSQP",
                bounds=bounds,
                options={"maxiter": maxiter, "ftol": ftol},
            )
        finite = np.isfinite(res.fun) and np.all(np.isfinite(res.x))
        if finite and (best is None or res.fun < best.fun):
            best = res
        if best is not None and best.success:
            break
    return best

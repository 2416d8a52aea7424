"""The web app starts without the analyser's heavy modules (pandas, scipy load on first use)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_creating_the_app_does_not_import_pandas_or_scipy():
    code = (
        "import sys, wsgi; "
        "print(sorted(m for m in ('pandas', 'scipy', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "startup-test", "RECOVERY_ENV": "development"},
    )
    assert out.stdout.strip() == "[]", out.stderr


def test_the_lazy_analysis_names_are_the_functions_whatever_loads_first():
    # `flask recovery backtest` loaded BacktestResult first; the package then handed out
    # its submodule instead of the function `backtest` ("'module' object is not callable").
    code = (
        "from recovery.analysis import BacktestResult\n"
        "from recovery.analysis import backtest, explain, score_customers\n"
        "assert all(callable(f) for f in (backtest, explain, score_customers)), backtest\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)

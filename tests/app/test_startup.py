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

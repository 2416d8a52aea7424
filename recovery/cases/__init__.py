"""The case domain: analysis → cases, the lists, the case page's data, the export and
the actions (one action table: form, service, flash text, label, shortcut).

``run_analysis`` and ``run_backtest`` pull in pandas; they load on first use, so the
web app, the worker and the CLI start fast.
"""

from importlib import import_module

_LAZY = {"run_analysis": "analysis", "run_backtest": "analysis"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

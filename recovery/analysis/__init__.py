"""The pandas analyser: order lines in, scored customers out (PRODUCT.md A1–A7).

Plain DataFrames in and out; no Flask, no database. Entry points:

* :func:`score_customers` – one row per customer: revenue decline (A1), overdue by
  rhythm (A2), churn probability and revenue at risk (A3), exclusions (A4), reasons (A5);
* :func:`score_customer_groups` – overdue by rhythm per customer × product group;
* :func:`score_customers_and_groups` – both on one preparation of the lines (nightly);
* :func:`backtest` – precision, recall and ROC AUC of the rules on the shop's history (A6);
* :class:`AnalysisSettings` – the rules with defaults and help texts (A7);
* :func:`explain` – re-render a stored reason (``reason_key``/``reason_params``).
"""

from importlib import import_module

from .settings import AnalysisSettings, FieldInfo, SettingsError

# The scoring modules pull in pandas and scipy (seconds of start-up); they load on
# first use, so the web app, the worker and the CLI start fast.
_LAZY = {
    "BacktestResult": "backtesting",
    "CalibrationBin": "backtesting",
    "RankingMetrics": "backtesting",
    "RuleMetrics": "backtesting",
    "backtest": "backtesting",
    "roc_auc": "metrics",
    "score_customer_groups": "groups",
    "score_customers_and_groups": "groups",
    "exclusion_label": "reasons",
    "explain": "reasons",
    "explain_many": "reasons",
    "score_customers": "score",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AnalysisSettings",
    "BacktestResult",
    "CalibrationBin",
    "FieldInfo",
    "RankingMetrics",
    "RuleMetrics",
    "SettingsError",
    "backtest",
    "exclusion_label",
    "explain",
    "explain_many",
    "roc_auc",
    "score_customer_groups",
    "score_customers",
    "score_customers_and_groups",
]

"""The pandas analyser: order lines in, scored customers out (PRODUCT.md A1–A7).

Plain DataFrames in and out; no Flask, no database. Entry points:

* :func:`score_customers` – one row per customer: revenue decline (A1), overdue by
  rhythm (A2), churn probability and revenue at risk (A3), exclusions (A4), reasons (A5);
* :func:`score_customer_groups` – overdue by rhythm per customer × product group;
* :func:`backtest` – precision, recall and ROC AUC of the rules on the shop's history (A6);
* :class:`AnalysisSettings` – the rules with defaults and help texts (A7);
* :func:`explain` – re-render a stored reason (``reason_key``/``reason_params``).
"""

from .backtest import BacktestResult, CalibrationBin, RuleMetrics, backtest, roc_auc
from .groups import score_customer_groups
from .reasons import exclusion_label, explain
from .score import score_customers
from .settings import AnalysisSettings, FieldInfo, SettingsError

__all__ = [
    "AnalysisSettings",
    "BacktestResult",
    "CalibrationBin",
    "FieldInfo",
    "RuleMetrics",
    "SettingsError",
    "backtest",
    "exclusion_label",
    "explain",
    "roc_auc",
    "score_customer_groups",
    "score_customers",
]

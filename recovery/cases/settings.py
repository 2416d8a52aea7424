"""Run-time settings kept in the ``setting`` table, typed by their dataclasses."""

from __future__ import annotations

from typing import Any

from ..analysis import AnalysisSettings
from ..extensions import db
from ..models import Setting

ANALYSIS_KEY = "analysis"


def analysis_settings() -> AnalysisSettings:
    row = db.session.get(Setting, ANALYSIS_KEY)
    return AnalysisSettings.from_dict(row.value if row else {})


def save_analysis_settings(values: dict[str, Any], user_id: int | None) -> AnalysisSettings:
    """Validate (raises ValueError naming the field) and store; the caller commits."""
    settings = AnalysisSettings.from_dict(values)
    row = db.session.get(Setting, ANALYSIS_KEY)
    if row is None:
        row = Setting(key=ANALYSIS_KEY)
        db.session.add(row)
    row.value = settings.to_dict()
    row.updated_by_id = user_id
    return settings

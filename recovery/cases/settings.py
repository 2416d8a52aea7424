"""Run-time settings kept in the ``setting`` table, typed by their dataclasses."""

from __future__ import annotations

from typing import Any

from ..analysis import AnalysisSettings
from ..models import Setting

ANALYSIS_KEY = "analysis"


def analysis_settings() -> AnalysisSettings:
    return AnalysisSettings.from_dict(Setting.read(ANALYSIS_KEY))


def save_analysis_settings(values: dict[str, Any], user_id: int | None) -> AnalysisSettings:
    """Validate (raises ValueError naming the field) and store; the caller commits."""
    settings = AnalysisSettings.from_dict(values)
    Setting.write(ANALYSIS_KEY, settings.to_dict(), user_id)
    return settings

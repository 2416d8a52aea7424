"""Limits over a sliding window, counted in database rows (so every web process and
machine sees the same numbers): the login throttle and the newsletter sign-up limits."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select

from .extensions import db


def wait_seconds(
    at: ColumnElement, where: ColumnElement, limit: int, window: timedelta, now: datetime
) -> int | None:
    """None while fewer than ``limit`` rows matching ``where`` have ``at`` inside the
    window; else the seconds until the oldest of them leaves it (at least 1)."""
    recent = db.session.scalars(
        select(at).where(where, at >= now - window).order_by(at.desc()).limit(limit)
    ).all()
    if len(recent) < limit:
        return None
    return max(1, math.ceil((recent[-1] + window - now).total_seconds()))

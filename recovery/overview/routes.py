"""The owner's view: how many customers are at risk, how many came back, what they brought."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from ..cases.overview import owner_figures
from . import bp


@bp.get("/")
def index():
    figures = owner_figures(current_user)
    return render_template(
        "overview/index.html",
        by_status=figures.by_status,
        at_risk=figures.at_risk,
        chart=figures.chart,
        recovered_total=figures.recovered_total,
        open_count=figures.open_count,
    )

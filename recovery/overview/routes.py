"""The owner's view: how many customers are at risk, how many came back, what they brought."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from ..audience.groups import all_groups
from ..cases.overview import owner_figures
from ..security import int_arg
from . import bp


@bp.get("/")
def index():
    groups = all_groups()
    group = int_arg("group")
    if group not in {g[0] for g in groups}:
        group = None
    figures = owner_figures(current_user, group)
    return render_template(
        "overview/index.html",
        groups=groups,
        group=group,
        by_status=figures.by_status,
        at_risk=figures.at_risk,
        chart=figures.chart,
        recovered_total=figures.recovered_total,
        open_count=figures.open_count,
    )

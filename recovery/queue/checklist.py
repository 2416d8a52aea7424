"""The start checklist on the home page of a new installation (first run).

With no data the six tiles say 0; an admin sees instead what to do first, each step
linked to its page and ticked when done: connect a source (orders have arrived), run
the analysis, set up a company's email templates, invite the team. All four are read
in one statement; once every step is done the result is kept in a Setting, so a
working installation pays one primary-key read for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select

from ..extensions import db
from ..models import Case, Company, JobRun, Order, Setting, User

DONE_SETTING = "start_checklist_done"


@dataclass(frozen=True, slots=True)
class Step:
    key: str
    title: object  # a lazy text
    hint: object
    endpoint: str
    done: bool


_STEPS = (
    (
        "source",
        _l("Connect your shop or WaWi, or upload an export file"),
        _l("Customers and orders arrive from there."),
        "admin.connectors",
    ),
    (
        "analysis",
        _l("Run the analysis"),
        _l("It finds the customers whose revenue falls or who stopped ordering."),
        "admin.analysis_settings_page",
    ),
    (
        "templates",
        _l("Set up a company's email templates"),
        _l("The Mailjet template ids for the standard and the voucher email."),
        "admin.companies",
    ),
    (
        "team",
        _l("Invite your team"),
        _l("Give your sales staff their own logins."),
        "admin.users",
    ),
)


def steps() -> list[Step] | None:
    """The checklist, or None when every step has been done (then and ever after)."""
    if Setting.read(DONE_SETTING).get("done"):
        return None
    row = db.session.execute(
        select(
            exists().where(Order.id.is_not(None)),
            exists().where(Case.id.is_not(None))
            | exists().where(JobRun.kind == "analyze", JobRun.state == "done"),
            exists().where(Company.standard_template_id.is_not(None)),
            select(func.count(User.id)).where(User.is_active_user.is_(True)).scalar_subquery() > 1,
        )
    ).one()
    found = [
        Step(key, title, hint, endpoint, bool(done))
        for (key, title, hint, endpoint), done in zip(_STEPS, row, strict=True)
    ]
    if all(step.done for step in found):
        Setting.write(DONE_SETTING, {"done": True}, None)
        db.session.commit()
        return None
    return found

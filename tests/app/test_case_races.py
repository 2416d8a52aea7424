"""State changes on a case happen once, however many clicks race (issue 13 item 11).

Eight "No interest" clicks with eight different valid one-time tokens, in eight
threads with their own database connections, against the real database (SQLite file
or PostgreSQL): one closes the case and writes the history entry, the others change
nothing and say so.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from recovery.cases import actions
from recovery.extensions import db as _db
from recovery.models import Case, CaseEvent, Message, User, utcnow
from tests.concurrency import at_once
from tests.conftest import make_user

CLICKS = 8


def _race(app, case_id: int, user_id: int, act) -> list[str]:
    """Run ``act(case, user, token)`` in CLICKS threads at once; each one's outcome."""

    def page(_i: int) -> tuple[Case, User]:  # each click's page, loaded before any click
        return _db.session.get(Case, case_id), _db.session.get(User, user_id)

    def click(loaded: tuple[Case, User]) -> str:
        act(*loaded, uuid.uuid4().hex)
        return "done"

    return [
        o
        if isinstance(o, str)
        else f"refused: {o}"
        if isinstance(o, actions.AlreadyDone | actions.ActionRefused)
        else f"crashed: {o!r}"
        for o in at_once(app, click, CLICKS, request=True, prepare=page)
    ]


@pytest.fixture()
def open_case(build):
    company = build.company(
        "Gartenwelt GmbH", sender_email="service@gartenwelt.example", standard_template_id=61
    )
    customer = build.customer()
    build.order(customer, utcnow() - timedelta(days=120), "300.00", "Dünger", company)
    return build.case(customer, company)


def test_no_interest_clicked_eight_times_at_once_is_recorded_once(app, db, open_case):
    user = make_user("sales")
    outcomes = _race(app, open_case.id, user.id, actions.no_interest)
    assert outcomes.count("done") == 1, outcomes
    assert not [o for o in outcomes if o.startswith("crashed")], outcomes
    db.session.expire_all()
    events = db.session.query(CaseEvent).filter_by(case_id=open_case.id).all()
    assert [e.kind for e in events] == ["no_interest"]
    assert db.session.get(Case, open_case.id).status == "no_interest"


def test_send_email_clicked_eight_times_at_once_sends_one_email(app, db, open_case):
    user = make_user("sales")
    outcomes = _race(
        app, open_case.id, user.id, lambda c, u, t: actions.send_email(c, u, t, "standard")
    )
    assert outcomes.count("done") == 1, outcomes
    assert not [o for o in outcomes if o.startswith("crashed")], outcomes
    db.session.expire_all()
    assert db.session.query(Message).count() == 1
    assert db.session.query(CaseEvent).filter_by(kind="email").count() == 1
    assert db.session.get(Case, open_case.id).status == "contacted"

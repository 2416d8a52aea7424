"""Case kinds and statuses: every one has its label, and the stored values stay plain strings."""

from __future__ import annotations

from flask_babel import force_locale

from recovery.models import (
    KIND_LABELS,
    OPEN_STATUSES,
    STATUS_LABELS,
    Case,
    CaseKind,
    CaseStatus,
)


def test_every_kind_and_status_has_a_label(app):
    assert set(KIND_LABELS) == set(CaseKind)
    assert set(STATUS_LABELS) == set(CaseStatus)
    with app.test_request_context(), force_locale("de"):
        assert str(STATUS_LABELS[CaseStatus.OFFER_REQUESTED]) == "Angebot angefordert"
        assert str(KIND_LABELS[CaseKind.OVERDUE]) == "Überfällig nach Rhythmus"


def test_open_statuses_are_those_of_open_cases():
    assert {"new", "reminder", "contacted", "offer_requested"} == OPEN_STATUSES


def test_a_case_stores_the_plain_value(build, db):
    case = build.case(build.customer(), build.company("Gartenwelt GmbH"))
    case.status = CaseStatus.OFFER_REQUESTED
    db.session.commit()
    db.session.expire_all()
    stored = db.session.execute(db.select(Case.status).where(Case.id == case.id)).scalar_one()
    assert stored == "offer_requested" and type(stored) is str

"""The demo's own customer groups (issue 15): one by rule, evaluated by the demo's
analysis like every night's, and one filled by hand from the decline list."""

from __future__ import annotations

from sqlalchemy import select

from .audience.members import add_by_hand
from .extensions import db
from .models import Case, CaseKind, CaseStatus, ContactGroup, User

RULE_GROUP = "Umsatzstarke Kunden mit Rückgang"
HAND_GROUP = "Einladung Hausmesse"
HAND_MEMBERS = 12


def seed_rule_group(admin: User) -> None:
    """Before the analysis: the rule group, so the analysis fills it."""
    if db.session.scalar(select(ContactGroup.id).where(ContactGroup.name == RULE_GROUP)):
        return
    db.session.add(
        ContactGroup(
            name=RULE_GROUP,
            description="Wer in den letzten 12 Monaten mindestens 1.000 € netto gekauft hat "
            "und wegen Umsatzrückgang markiert ist: persönlich anrufen.",
            rules=[
                {"type": "revenue", "min": "1000.00", "max": None},
                {"type": "flag", "value": "decline"},
            ],
            created_by_id=admin.id,
        )
    )
    db.session.commit()


def seed_hand_group(admin: User) -> int:
    """After the analysis: the hand group with the customers of the first decline cases;
    how many were added."""
    group = db.session.scalar(select(ContactGroup).where(ContactGroup.name == HAND_GROUP))
    if group is None:
        group = ContactGroup(
            name=HAND_GROUP,
            description="Von Hand ausgewählte Kunden, die zur Hausmesse im Frühjahr "
            "eingeladen werden.",
            created_by_id=admin.id,
        )
        db.session.add(group)
        db.session.commit()
    customers = db.session.scalars(
        select(Case.customer_id)
        .where(Case.kind == CaseKind.DECLINE, Case.status == CaseStatus.NEW)
        .order_by(Case.revenue_at_risk.desc(), Case.id)
        .limit(HAND_MEMBERS)
    ).all()
    added, _present = add_by_hand(group.id, customers, admin)
    return added

"""The demo's customer groups (issue 15): one by rule, filled by the demo's analysis,
and one by hand; both with members a merchant can open."""

from __future__ import annotations

from sqlalchemy import select

from recovery.demo_groups import HAND_GROUP, HAND_MEMBERS, RULE_GROUP
from recovery.demo_setup import load_demo
from recovery.extensions import db
from recovery.models import Case, CaseKind, ContactGroup, GroupMember


def _members(name: str) -> dict[int, str]:
    group = db.session.scalars(select(ContactGroup).where(ContactGroup.name == name)).one()
    rows = db.session.execute(
        select(GroupMember.customer_id, GroupMember.source).where(GroupMember.group_id == group.id)
    )
    return dict(rows.tuples().all())


def test_the_demo_has_a_rule_group_and_a_hand_group_with_members(db, client, login_as):
    summary = load_demo(seed=42, customers=400, echo=lambda _line: None)
    assert "Customer groups:" in summary
    by_rule = _members(RULE_GROUP)
    assert by_rule and set(by_rule.values()) == {"rule"}
    flagged = set(
        db.session.scalars(
            select(Case.customer_id).where(Case.kind == CaseKind.DECLINE, Case.closed_at.is_(None))
        )
    )
    assert set(by_rule) <= flagged
    by_hand = _members(HAND_GROUP)
    assert len(by_hand) == HAND_MEMBERS and set(by_hand.values()) == {"hand"}
    login_as("admin")
    html = client.get("/groups/").get_data(as_text=True)
    assert RULE_GROUP in html and HAND_GROUP in html

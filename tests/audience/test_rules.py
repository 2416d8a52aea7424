"""Group rules evaluated set-wise (issue 15, G1): each rule type, all rules together,
an inactive group, hand members kept, and every change in the history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from recovery.audience.groups import GroupRefused, preview_count, save_group
from recovery.audience.members import MembershipRefused, add_by_hand, evaluate, remove_by_hand
from recovery.models import ContactGroup, GroupMember, GroupMemberChange, utcnow
from tests.conftest import make_user, utc


def _group(db, rules, active=True, name="Gruppe") -> ContactGroup:
    group = ContactGroup(name=name, rules=rules, active=active)
    db.session.add(group)
    db.session.commit()
    return group


def _members(db, group) -> dict[int, str]:
    rows = db.session.execute(
        select(GroupMember.customer_id, GroupMember.source).where(GroupMember.group_id == group.id)
    )
    return dict(rows.tuples().all())


def _matches(db, rules) -> set[int]:
    group = _group(db, rules, name=f"G{len(str(rules))}-{id(rules)}")
    evaluate([group.id])
    return set(_members(db, group))


def test_customer_group_and_country(db, build):
    a = build.customer(customer_group="Händler", country="DE")
    b = build.customer(customer_group="Händler", country="AT")
    c = build.customer(customer_group="Endkunde", country="AT")
    assert _matches(db, [{"type": "customer_group", "values": ["Händler"]}]) == {a.id, b.id}
    assert _matches(db, [{"type": "country", "values": ["AT"]}]) == {b.id, c.id}
    both = [
        {"type": "customer_group", "values": ["Händler"]},
        {"type": "country", "values": ["AT"]},
    ]
    assert _matches(db, both) == {b.id}  # all rules must match


def test_product_groups_ever_and_in_the_last_months(db, build):
    now = utcnow()
    recent = build.customer()
    old = build.customer()
    other = build.customer()
    cancelled = build.customer()
    build.order(recent, now - timedelta(days=20), group="Saatgut")
    build.order(old, now - timedelta(days=400), group="Saatgut")
    build.order(other, now - timedelta(days=20), group="Dünger")
    build.order(cancelled, now - timedelta(days=20), group="Saatgut", state="cancelled")
    seeds = build.group("Saatgut").id
    ever = {"type": "product_groups", "ids": [seeds], "months": None}
    assert _matches(db, [ever]) == {recent.id, old.id}
    assert _matches(db, [dict(ever, months=6)]) == {recent.id}


def test_revenue_band_of_the_last_twelve_months(db, build):
    now = utcnow()
    small = build.customer()
    big = build.customer()
    long_ago = build.customer()
    none = build.customer()
    build.order(small, now - timedelta(days=30), net="50.00")
    build.order(big, now - timedelta(days=30), net="800.00")
    build.order(big, now - timedelta(days=60), net="700.00")
    build.order(long_ago, now - timedelta(days=500), net="5000.00")
    band = {"type": "revenue", "min": "1000.00", "max": "2000.00"}
    assert _matches(db, [band]) == {big.id}
    # 0 lies in "up to 100": customers without revenue in the 12 months count too
    low = {"type": "revenue", "min": None, "max": "100.00"}
    assert _matches(db, [low]) == {small.id, long_ago.id, none.id}


def test_last_order_between_days(db, build):
    first = build.customer()
    second = build.customer()
    build.order(first, utc(2026, 3, 10, 12))
    build.order(second, utc(2026, 3, 10, 12))
    build.order(second, utc(2026, 5, 1, 12))  # the latest order decides
    rule = {"type": "last_order", "from": "2026-03-01", "to": "2026-03-31"}
    assert _matches(db, [rule]) == {first.id}
    # the last day counts whole, in the business's time zone (Berlin: 23:30 UTC is the next day)
    late = build.customer()
    build.order(late, utc(2026, 3, 31, 21, 30))
    assert late.id in _matches(db, [rule])


def test_flagged_for_decline_overdue_or_not(db, build):
    declining = build.customer()
    overdue = build.customer()
    closed = build.customer()
    calm = build.customer()
    build.case(declining)
    build.case(overdue, key="overdue:1", kind="overdue")
    build.case(closed, closed_at=utc(2026, 2, 1), status="closed")
    assert _matches(db, [{"type": "flag", "value": "decline"}]) == {declining.id}
    assert _matches(db, [{"type": "flag", "value": "overdue"}]) == {overdue.id}
    assert _matches(db, [{"type": "flag", "value": "none"}]) == {closed.id, calm.id}


def test_company_bought_from(db, build):
    north = build.company("Nord GmbH")
    south = build.company("Süd GmbH")
    a = build.customer()
    b = build.customer()
    build.order(a, utc(2026, 1, 5), company=north)
    build.order(b, utc(2026, 1, 5), company=south)
    assert _matches(db, [{"type": "company", "ids": [north.id]}]) == {a.id}


def test_members_follow_the_rules_by_set_difference_with_history(db, build):
    a = build.customer(country="AT")
    b = build.customer(country="AT")
    group = _group(db, [{"type": "country", "values": ["AT"]}])
    [result] = evaluate([group.id])
    assert (result.added, result.removed) == (2, 0)
    [again] = evaluate([group.id])
    assert (again.added, again.removed) == (0, 0)  # nothing changes twice
    b.country = "DE"
    db.session.commit()
    [result] = evaluate([group.id])
    assert (result.added, result.removed) == (0, 1)
    assert _members(db, group) == {a.id: "rule"}
    history = db.session.execute(
        select(GroupMemberChange.customer_id, GroupMemberChange.change, GroupMemberChange.source)
        .where(GroupMemberChange.group_id == group.id)
        .order_by(GroupMemberChange.id)
    ).all()
    assert [tuple(h) for h in history] == [
        (a.id, "added", "rule"),
        (b.id, "added", "rule"),
        (b.id, "removed", "rule"),
    ]


def test_hand_members_stay_when_the_rules_do_not_match(db, build):
    user = make_user("sales")
    by_hand = build.customer(country="DE")
    group = _group(db, [{"type": "country", "values": ["AT"]}])
    assert add_by_hand(group.id, [by_hand.id], user) == (1, 0)
    evaluate([group.id])
    assert _members(db, group) == {by_hand.id: "hand"}
    change = db.session.scalars(
        select(GroupMemberChange).where(GroupMemberChange.source == "hand")
    ).one()
    assert (change.change, change.user_id) == ("added", user.id)
    assert remove_by_hand(group.id, by_hand.id, user)
    assert _members(db, group) == {}
    removal = db.session.scalars(
        select(GroupMemberChange).where(GroupMemberChange.change == "removed")
    ).one()
    assert (removal.source, removal.user_id) == ("hand", user.id)


def test_an_inactive_group_takes_no_new_members_and_keeps_its_members(app, db, build):
    user = make_user("sales")
    member = build.customer(country="AT")
    group = _group(db, [{"type": "country", "values": ["AT"]}])
    evaluate([group.id])
    group.active = False
    db.session.commit()
    build.customer(country="AT")
    member.country = "DE"  # no longer matches, but the inactive group keeps it
    db.session.commit()
    assert evaluate() == []
    assert evaluate([group.id]) == []
    assert _members(db, group) == {member.id: "rule"}
    newcomer = build.customer()
    with app.test_request_context(), pytest.raises(MembershipRefused, match="nicht aktiv"):
        add_by_hand(group.id, [newcomer.id], user)
    assert _members(db, group) == {member.id: "rule"}


def test_the_analysis_job_evaluates_the_groups(db, build, run_jobs):
    from recovery.jobs import enqueue

    customer = build.customer(country="AT")
    build.order(customer, utcnow() - timedelta(days=10))
    group = _group(db, [{"type": "country", "values": ["AT"]}])
    job = enqueue("analyze")
    run_jobs()
    db.session.refresh(job)
    assert job.state == "done", job.error
    assert job.result["groups"] == {"evaluated": 1, "added": 1, "removed": 0}
    assert _members(db, group) == {customer.id: "rule"}


def test_saving_checks_the_rules_and_evaluates_them(app, db, build):
    admin = make_user("admin")
    build.customer(country="AT")
    context = app.test_request_context()
    context.push()
    with pytest.raises(GroupRefused, match="kein Datum"):
        save_group(
            None, admin, name="X", description="", active=True,
            rules=[{"type": "last_order", "from": "2026-13-40", "to": ""}],
        )  # fmt: skip
    with pytest.raises(GroupRefused):
        save_group(
            None, admin, name="X", description="", active=True,
            rules=[{"type": "revenue", "min": "500", "max": "100"}],
        )  # fmt: skip
    assert db.session.scalars(select(ContactGroup)).all() == []
    group = save_group(
        None, admin, name="Österreich", description="", active=True,
        rules=[{"type": "country", "values": ["AT"]}],
    )  # fmt: skip
    assert len(_members(db, group)) == 1
    with pytest.raises(GroupRefused, match="gibt es schon"):
        save_group(None, admin, name="österreich", description="", active=True, rules=[])
    context.pop()


def test_preview_count_for_a_restricted_user_counts_their_company_only(db, build):
    north = build.company("Nord GmbH")
    south = build.company("Süd GmbH")
    mine = build.customer(country="AT")
    theirs = build.customer(country="AT")
    build.order(mine, utc(2026, 1, 5), company=north)
    build.order(theirs, utc(2026, 1, 5), company=south)
    rules = [{"type": "country", "values": ["AT"]}]
    assert preview_count(rules, make_user("admin")) == 2
    assert preview_count(rules, make_user("sales", company_id=north.id)) == 1


def test_one_round_over_several_groups_changes_each_group_by_itself(db, build):
    user = make_user("sales")
    at = build.customer(country="AT")
    ch = build.customer(country="CH")
    by_hand = build.customer(country="AT")
    austria = _group(db, [{"type": "country", "values": ["AT"]}], name="Österreich")
    swiss = _group(db, [{"type": "country", "values": ["CH"]}], name="Schweiz")
    add_by_hand(austria.id, [by_hand.id], user)
    results = {r.group_id: (r.added, r.removed) for r in evaluate()}
    assert results == {austria.id: (1, 0), swiss.id: (1, 0)}  # the hand member stays as it is
    assert _members(db, austria) == {at.id: "rule", by_hand.id: "hand"}
    at.country, ch.country = "CH", "AT"
    db.session.commit()
    results = {r.group_id: (r.added, r.removed) for r in evaluate()}
    assert results == {austria.id: (1, 1), swiss.id: (1, 1)}
    assert _members(db, austria) == {ch.id: "rule", by_hand.id: "hand"}
    assert _members(db, swiss) == {at.id: "rule"}
    history = db.session.execute(
        select(GroupMemberChange.customer_id, GroupMemberChange.change, GroupMemberChange.source)
        .where(GroupMemberChange.group_id == austria.id)
        .order_by(GroupMemberChange.id)
    ).all()
    assert sorted(map(tuple, history)) == sorted(
        [
            (by_hand.id, "added", "hand"),
            (at.id, "added", "rule"),
            (at.id, "removed", "rule"),
            (ch.id, "added", "rule"),
        ]
    )
    assert [(r.added, r.removed) for r in evaluate()] == [(0, 0), (0, 0)]


def test_a_merged_sign_up_contact_is_matched_by_no_rule(db, build):
    """The customer stands for a sign-up contact merged into it: a rule that would match
    the old contact (here: no open case) leaves it out, and a rule member merged later
    leaves the group at the next round."""
    customer = build.customer()
    contact = build.customer()
    group = _group(db, [{"type": "flag", "value": "none"}])
    evaluate([group.id])
    assert set(_members(db, group)) == {customer.id, contact.id}

    contact.merged_into_id = customer.id
    db.session.commit()
    [result] = evaluate([group.id])
    assert (result.added, result.removed) == (0, 1)
    assert set(_members(db, group)) == {customer.id}
    assert _matches(db, [{"type": "flag", "value": "none"}]) == {customer.id}

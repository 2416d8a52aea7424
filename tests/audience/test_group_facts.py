"""The kept order facts of the group rules (audience/facts.py): fresh at every
evaluation and preview after orders change between analyses, rebuilt only for the
customers that changed, and the same as a full rebuild."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text, update

from recovery.audience.facts import MARGIN, refresh_order_facts
from recovery.audience.groups import preview_count
from recovery.audience.members import evaluate
from recovery.models import (
    CompanyOrderFact,
    ContactGroup,
    Customer,
    CustomerOrderFact,
    GroupMember,
    LineOrderFact,
    Order,
    OrderFactStamp,
    utcnow,
)
from tests.conftest import make_user


def _group(db, rules, name) -> ContactGroup:
    group = ContactGroup(name=name, rules=rules)
    db.session.add(group)
    db.session.commit()
    return group


def _members(db, group) -> set[int]:
    return set(
        db.session.scalars(select(GroupMember.customer_id).where(GroupMember.group_id == group.id))
    )


def _facts(db) -> dict[str, set[tuple]]:
    return {
        "customer": set(
            db.session.execute(
                select(CustomerOrderFact.customer_id, CustomerOrderFact.last_order_at)
            ).tuples()
        ),
        "company": set(
            db.session.execute(
                select(CompanyOrderFact.customer_id, CompanyOrderFact.company_id)
            ).tuples()
        ),
        "line": set(
            db.session.execute(
                select(
                    LineOrderFact.customer_id, LineOrderFact.product_group_id, LineOrderFact.last_at
                )
            ).tuples()
        ),
    }


def _age(db, days: int) -> None:
    """Every order and customer last changed ``days`` ago (as after an import long ago)."""
    long_ago = utcnow() - timedelta(days=days)
    db.session.execute(update(Order).values(updated_at=long_ago))
    db.session.execute(update(Customer).values(updated_at=long_ago))
    db.session.commit()


def test_orders_changed_between_evaluations_are_seen_by_the_next_one(db, build):
    now = utcnow()
    a, b, c = build.customer(), build.customer(), build.customer()
    firm = build.company("Hof & Feld Versand GmbH")
    order_a = build.order(a, now - timedelta(days=10), group="Saatgut")
    build.order(c, now - timedelta(days=400), group="Saatgut")
    seeds = build.group("Saatgut").id
    recent = _group(db, [{"type": "product_groups", "ids": [seeds], "months": 6}], "recent")
    latest = _group(
        db,
        [{"type": "last_order", "from": (now - timedelta(days=30)).date().isoformat(), "to": None}],
        "latest",
    )
    firm_group = _group(db, [{"type": "company", "ids": [firm.id]}], "firm")
    evaluate()
    assert _members(db, recent) == {a.id}
    assert _members(db, latest) == {a.id}
    assert _members(db, firm_group) == set()

    # between two analyses: a sync cancels a's order, b orders from the firm
    order_a.state = "cancelled"
    db.session.commit()
    build.order(b, now - timedelta(days=2), group="Saatgut", company=firm)
    rules = [{"type": "product_groups", "ids": [seeds], "months": 6}]
    assert preview_count(rules, make_user("admin")) == 1  # b, not a: the preview is fresh
    evaluate()
    assert _members(db, recent) == {b.id}
    assert _members(db, latest) == {b.id}
    assert _members(db, firm_group) == {b.id}


def test_a_refresh_rebuilds_only_the_customers_that_changed(db, build):
    now = utcnow()
    customers = [build.customer() for _ in range(10)]
    orders = [build.order(c, now - timedelta(days=20 + i)) for i, c in enumerate(customers)]
    _age(db, 3)
    assert refresh_order_facts().customers is None  # never built: all of them
    db.session.commit()
    assert refresh_order_facts().customers == 0  # nothing changed since
    db.session.commit()

    orders[1].state = "returned"  # the ORM writes updated_at
    db.session.commit()
    build.order(customers[2], now - timedelta(days=1), group="Dünger")
    refreshed = refresh_order_facts()
    db.session.commit()
    assert refreshed.customers == 2
    facts = _facts(db)
    assert customers[1].id not in {row[0] for row in facts["customer"]}
    assert (customers[2].id, build.group("Dünger").id) in {row[:2] for row in facts["line"]}

    refresh_order_facts(full=True)
    db.session.commit()
    assert _facts(db) == facts  # the same as rebuilding everything

    for order in orders[3:7]:  # 4 of 10 changed: more than FULL_SHARE, all are rebuilt
        order.net_total += 1
    db.session.commit()
    assert refresh_order_facts().customers is None
    db.session.commit()
    assert _facts(db) == facts


def test_a_change_without_updated_at_is_seen_only_by_a_full_rebuild(app, db, build):
    # what "stale" means: an order changed behind the app's back (its updated_at left
    # older than the margin before the last refresh) is not seen by a refresh
    customer = build.customer()
    order = build.order(customer, utcnow() - timedelta(days=20))
    _age(db, 3)
    refresh_order_facts()
    db.session.commit()
    db.session.execute(
        text("UPDATE customer_order SET state = 'cancelled' WHERE id = :id"), {"id": order.id}
    )
    db.session.commit()
    refresh_order_facts()
    db.session.commit()
    assert customer.id in {row[0] for row in _facts(db)["customer"]}
    result = app.test_cli_runner().invoke(args=["recovery", "group-facts", "--full"])
    assert result.exit_code == 0, result.output
    assert "all customers" in result.output
    db.session.expire_all()
    assert customer.id not in {row[0] for row in _facts(db)["customer"]}


def test_a_change_within_the_margin_before_the_last_refresh_is_seen(db, build):
    # a sync batch that wrote updated_at before the last refresh started but committed
    # after it
    for _ in range(4):  # others that do not change
        build.order(build.customer(), utcnow() - timedelta(days=30))
    customer = build.customer()
    order = build.order(customer, utcnow() - timedelta(days=20))
    _age(db, 3)
    refresh_order_facts()
    db.session.commit()
    stamp = db.session.get(OrderFactStamp, 1)
    late = stamp.orders_until - MARGIN + timedelta(minutes=1)
    db.session.execute(
        update(Order).where(Order.id == order.id).values(state="cancelled", updated_at=late)
    )
    db.session.commit()
    assert refresh_order_facts().customers == 1
    db.session.commit()
    assert customer.id not in {row[0] for row in _facts(db)["customer"]}


def test_a_deleted_customer_takes_its_facts_along(db, build):
    gone, kept = build.customer(), build.customer()
    firm = build.company()
    build.order(gone, utcnow() - timedelta(days=5), company=firm)
    build.order(kept, utcnow() - timedelta(days=5), company=firm)
    refresh_order_facts()
    db.session.commit()
    db.session.delete(gone)
    db.session.commit()
    facts = _facts(db)
    assert {row[0] for rows in facts.values() for row in rows} == {kept.id}

"""Reconnected (R4): an order containing the group within the attribution window after
the first message reconnects the customer; its net revenue in that group is credited
once, to the latest contact before it.

Run by the worker (recurring ``reconnect attribution``). The candidate orders of all open
contacts come from one statement; the window (days per group) is checked here, the same
on every database. The credits are written set-wise, 500 per conditional update
(``reconnected_at IS NULL``) with a ``reconnected`` event each in the case history, so
two workers never credit twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func, literal, or_, select, update

from ..extensions import db
from ..models import (
    CaseEvent,
    Order,
    OrderLine,
    ReconnectContact,
    ReconnectSettings,
    utcnow,
)

# Orders that count (a cancelled or returned one, or a cancelled position, does not).
_REAL = ("completed", "open")
# Contacts older than this are not looked at any more (the longest window allowed).
MAX_WINDOW = timedelta(days=365)


def _candidates(now: datetime):
    """(contact, its case, group, first sent, window days, order, ordered at, revenue in
    the group) for every open contact and every real order of the group after it."""
    rc = ReconnectContact
    window = func.coalesce(ReconnectSettings.attribution_days, 30)
    line_counts = or_(OrderLine.state.is_(None), OrderLine.state.in_(_REAL))
    return db.session.execute(
        select(
            rc.id,
            rc.case_id,
            rc.customer_id,
            rc.product_group_id,
            rc.first_sent_at,
            window,
            Order.id,
            Order.ordered_at,
            func.sum(OrderLine.net_amount),
        )
        .join(Order, Order.customer_id == rc.customer_id)
        .join(
            OrderLine,
            (OrderLine.order_id == Order.id) & (OrderLine.product_group_id == rc.product_group_id),
        )
        .outerjoin(ReconnectSettings, ReconnectSettings.product_group_id == rc.product_group_id)
        .where(
            rc.reconnected_at.is_(None),
            rc.first_sent_at >= now - MAX_WINDOW,
            Order.ordered_at > rc.first_sent_at,
            Order.ordered_at <= now,
            Order.state.in_(_REAL),
            line_counts,
        )
        .group_by(
            rc.id,
            rc.case_id,
            rc.customer_id,
            rc.product_group_id,
            rc.first_sent_at,
            window,
            Order.id,
            Order.ordered_at,
        )
    ).all()


def attribute(now: datetime | None = None) -> int:
    """Credit every order that reconnects a contact; the number of contacts credited."""
    now = now or utcnow()
    # Per customer × group: the orders in time order, each with the contacts before it.
    by_pair: dict[tuple[int, int], dict] = defaultdict(lambda: {"contacts": {}, "orders": {}})
    for row in _candidates(now):
        contact_id, case_id, customer_id, group_id, sent_at, days, order_id, at, revenue = row
        if at > sent_at + timedelta(days=days):
            continue
        pair = by_pair[(customer_id, group_id)]
        pair["contacts"][contact_id] = (case_id, sent_at)
        pair["orders"][order_id] = (at, Decimal(revenue or 0))
    taken = _taken(by_pair)
    credits = []
    for (_customer, group_id), pair in by_pair.items():
        done: set[int] = set()
        for order_id, (at, revenue) in sorted(pair["orders"].items(), key=lambda o: o[1][0]):
            if (group_id, order_id) in taken:
                continue
            before = [
                (sent_at, contact_id, case_id)
                for contact_id, (case_id, sent_at) in pair["contacts"].items()
                if sent_at < at and contact_id not in done
            ]
            if not before:
                continue
            _sent, contact_id, case_id = max(before)  # the latest message before the order
            credits.append((contact_id, case_id, order_id, at, revenue))
            done.add(contact_id)
    credited = 0
    for start in range(0, len(credits), CHUNK):
        credited += _credit(credits[start : start + CHUNK], now)
    return credited


# Credits written per statement and transaction; order ids looked up per statement.
CHUNK = 500


def _taken(by_pair) -> set[tuple[int, int]]:
    """(group, order) of the candidate orders credited to a contact already."""
    order_ids = sorted({o for pair in by_pair.values() for o in pair["orders"]})
    rc = ReconnectContact
    taken: set[tuple[int, int]] = set()
    for start in range(0, len(order_ids), CHUNK):
        rows = db.session.execute(
            select(rc.product_group_id, rc.reconnected_order_id).where(
                rc.reconnected_order_id.in_(order_ids[start : start + CHUNK])
            )
        )
        taken.update(rows.tuples())
    return taken


def _credit(credits, now) -> int:
    """One conditional update (``reconnected_at IS NULL``) for the credits, their events,
    one commit; how many were written (a contact credited meanwhile by another worker
    is not)."""
    rc = ReconnectContact
    by_id = {contact_id: credit for contact_id, *credit in credits}

    def per_contact(index: int, column):
        values = {i: literal(c[index], column.type) for i, c in by_id.items()}
        return case(values, value=rc.id)

    written = set(
        db.session.execute(
            update(rc)
            .where(rc.id.in_(list(by_id)), rc.reconnected_at.is_(None))
            .values(
                reconnected_at=per_contact(2, rc.reconnected_at),
                reconnected_order_id=per_contact(1, rc.reconnected_order_id),
                reconnected_revenue=per_contact(3, rc.reconnected_revenue),
            )
            .returning(rc.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    for contact_id in written:
        case_id, order_id, _at, revenue = by_id[contact_id]
        db.session.add(
            CaseEvent(
                case_id=case_id,
                kind="reconnected",
                data={"order_id": order_id, "revenue": str(revenue)},
                created_at=now,
            )
        )
    db.session.commit()
    return len(written)

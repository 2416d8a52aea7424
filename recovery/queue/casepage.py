"""What the case page shows (Q3): customer, consent, revenue chart, orders, history."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..messaging import consent, outbox
from ..models import (
    Case,
    CaseEvent,
    Company,
    ConnectorConfig,
    Customer,
    Message,
    Order,
    OrderLine,
    ProductGroup,
    User,
    utcnow,
)

CHART_MONTHS = 36


@dataclass
class MonthBar:
    month: date
    revenue: Decimal
    height: float  # 0..100 % of the largest month


@dataclass
class CaseDetails:
    orders: list[Order]
    chart: list[MonthBar]
    events: list[CaseEvent]
    notes: list[CaseEvent]
    messages: list[Message]
    channels: dict[str, str | None]  # channel -> reason why it cannot be used
    links: dict[str, str]
    order_links: dict[int, str]
    other_cases: list[Case]
    variables: dict[str, str]  # what "Send email" would pass to Mailjet, shown before sending


def _months_back(today: date, count: int) -> list[date]:
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(months))


def revenue_chart(orders: list[Order], today: date, tz: ZoneInfo) -> list[MonthBar]:
    totals: dict[date, Decimal] = defaultdict(Decimal)
    for order in orders:
        if order.state in ("completed", "open"):
            local = order.ordered_at.astimezone(tz)
            totals[date(local.year, local.month, 1)] += order.net_total
    months = _months_back(today, CHART_MONTHS)
    peak = max((totals[m] for m in months), default=Decimal(0)) or Decimal(1)
    return [MonthBar(m, totals[m], float(totals[m] / peak * 100)) for m in months]


def _link(pattern: str | None, **values: str | None) -> str | None:
    if not pattern:
        return None
    try:
        return pattern.format(**{k: v or "" for k, v in values.items()})
    except (KeyError, IndexError, ValueError):
        return None


def details(case: Case, user: User) -> CaseDetails:
    customer: Customer = case.customer
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    orders = list(
        db.session.scalars(
            select(Order)
            .where(Order.customer_id == customer.id)
            .options(
                selectinload(Order.lines).selectinload(OrderLine.product_group),
                selectinload(Order.company),
            )
            .order_by(Order.ordered_at.desc())
        )
    )
    events = list(
        db.session.scalars(
            select(CaseEvent)
            .join(Case)
            .where(Case.customer_id == customer.id)
            .options(selectinload(CaseEvent.user))
            .order_by(CaseEvent.created_at.desc())
        )
    )
    messages = list(
        db.session.scalars(
            select(Message)
            .where(Message.customer_id == customer.id)
            .order_by(Message.created_at.desc())
            .limit(50)
        )
    )
    connector = db.session.scalar(
        select(ConnectorConfig).where(ConnectorConfig.name == customer.source)
    )
    links: dict[str, str] = {}
    order_links: dict[int, str] = {}
    if connector is not None:
        url = _link(connector.customer_url, id=customer.external_id, number=customer.number)
        if url:
            links["customer"] = url
        for order in orders:
            url = _link(connector.order_url, id=order.external_id, number=order.number)
            if url:
                order_links[order.id] = url
    return CaseDetails(
        orders=orders,
        chart=revenue_chart(orders, utcnow().astimezone(tz).date(), tz),
        events=[e for e in events if e.kind != "note"],
        notes=[e for e in events if e.kind == "note"],
        messages=messages,
        channels={ch: consent.blocked_reason(customer, ch) for ch in ("email", "sms")},
        variables=outbox.variables_for(customer, outbox.customer_context(customer), user),
        links=links,
        order_links=order_links,
        other_cases=[
            c
            for c in db.session.scalars(select(Case).where(Case.customer_id == customer.id))
            if c.id != case.id
        ],
    )


def filter_choices(user: User) -> dict[str, list]:
    companies = db.session.scalars(select(Company).order_by(Company.name)).all()
    if user.company_id is not None:
        companies = [c for c in companies if c.id == user.company_id]
    groups = db.session.scalars(
        select(Customer.customer_group)
        .where(Customer.customer_group.is_not(None))
        .distinct()
        .order_by(Customer.customer_group)
    ).all()
    return {
        "companies": companies,
        "customer_groups": list(groups),
        "product_groups": db.session.scalars(
            select(ProductGroup).order_by(ProductGroup.name)
        ).all(),
        "users": db.session.scalars(select(User).order_by(User.name)).all(),
    }

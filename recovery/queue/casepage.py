"""What the case page shows (Q3): customer, consent, revenue chart, orders, history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

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
from ..models.message import GroupMessageTexts

CHART_MONTHS = 36
ORDERS_SHOWN = 60  # templates/queue/case.html lists this many, the latest first


@dataclass
class MonthBar:
    month: date
    revenue: Decimal
    height: float  # 0..100 % of the largest month


class LatestOrders(Sequence[Order]):
    """The latest orders, lines loaded, that the page lists; ``len()`` counts all orders.

    A customer may have thousands of orders; the page shows the latest ORDERS_SHOWN and
    says how many there are, so only those are loaded (with their lines).
    """

    def __init__(self, loaded: list[Order], total: int):
        self.loaded = loaded
        self.total = total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index):
        return self.loaded[index]

    def __iter__(self) -> Iterator[Order]:
        return iter(self.loaded)


@dataclass
class CaseDetails:
    orders: LatestOrders
    chart: list[MonthBar]
    events: list[CaseEvent]
    notes: list[CaseEvent]
    messages: list[Message]
    channels: dict[str, str | None]  # channel -> reason why it cannot be used
    links: dict[str, str]
    order_links: dict[int, str]
    product_links: dict[str, str]  # sku -> link into the WaWi (D6)
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


def revenue_chart(orders, today: date, tz: ZoneInfo) -> list[MonthBar]:
    """Net revenue per month; ``orders`` need ``state``, ``ordered_at`` and ``net_total``."""
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


def latest_orders(customer_id: int) -> LatestOrders:
    loaded = db.session.scalars(
        select(Order)
        .where(Order.customer_id == customer_id)
        .options(  # groups and companies ride along in the same queries
            selectinload(Order.lines).joinedload(OrderLine.product_group),
            joinedload(Order.company),
        )
        .order_by(Order.ordered_at.desc())
        .limit(ORDERS_SHOWN)
    ).all()
    total = len(loaded)
    if total == ORDERS_SHOWN:
        total = db.session.scalar(
            select(func.count()).select_from(Order).where(Order.customer_id == customer_id)
        )
    return LatestOrders(list(loaded), total)


def chart_orders(orders: LatestOrders, customer_id: int, today: date, tz: ZoneInfo):
    """The orders the chart sums: the loaded ones if those are all, else plain rows
    (state, time, net total) of the orders in the chart's months."""
    if len(orders) == len(orders.loaded):
        return orders.loaded
    first_day = _months_back(today, CHART_MONTHS)[0]
    since = datetime.combine(first_day, time.min, tz).astimezone(UTC)
    return db.session.execute(
        select(Order.state, Order.ordered_at, Order.net_total).where(
            Order.customer_id == customer_id,
            Order.ordered_at >= since,
            Order.state.in_(("completed", "open")),
        )
    ).all()


def details(case: Case, user: User) -> CaseDetails:
    customer: Customer = case.customer
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    today = utcnow().astimezone(tz).date()
    orders = latest_orders(customer.id)
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
    product_links: dict[str, str] = {}
    if connector is not None:
        url = _link(connector.customer_url, id=customer.external_id, number=customer.number)
        if url:
            links["customer"] = url
        for order in orders:
            url = _link(connector.order_url, id=order.external_id, number=order.number)
            if url:
                order_links[order.id] = url
            for line in order.lines:
                url = line.sku and _link(connector.product_url, sku=line.sku)
                if url:
                    product_links[line.sku] = url
    return CaseDetails(
        product_links=product_links,
        orders=orders,
        chart=revenue_chart(chart_orders(orders, customer.id, today, tz), today, tz),
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


def default_sms_text(case: Case) -> str:
    """The first-SMS text set for the case's product group, if an admin wrote one."""
    if case.product_group_id is None:
        return ""
    texts = db.session.get(GroupMessageTexts, case.product_group_id)
    return (texts.first_sms_text or "") if texts else ""


def filter_choices(user: User) -> dict[str, list]:
    companies = db.session.scalars(select(Company).order_by(Company.name)).all()
    if user.company_id is not None:
        companies = [c for c in companies if c.id == user.company_id]
    return {
        "companies": companies,
        "customer_groups": customer_groups(),
        "product_groups": db.session.scalars(
            select(ProductGroup).order_by(ProductGroup.name)
        ).all(),
        "users": db.session.scalars(select(User).order_by(User.name)).all(),
    }


def customer_groups() -> list[str]:
    """The distinct customer groups, A–Z.

    A loose index scan: each step asks ix_customer_group for the next group after the
    last one, so a handful of groups costs a handful of probes, not a read of every
    customer.
    """
    group = Customer.customer_group
    found = select(select(func.min(group)).scalar_subquery().label("name")).cte(
        "found", recursive=True
    )
    following = select(func.min(group)).where(group > found.c.name).scalar_subquery()
    found = found.union_all(select(following).where(found.c.name.is_not(None)))
    return list(
        db.session.scalars(
            select(found.c.name).where(found.c.name.is_not(None)).order_by(found.c.name)
        )
    )

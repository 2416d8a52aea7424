"""What the case page shows (Q3): customer, consent, revenue chart, orders, history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Row, Select, bindparam, func, inspect, select
from sqlalchemy.orm import contains_eager, joinedload

from ..extensions import db
from ..messaging import consent, outbox
from ..models import (
    CHANNELS,
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
    business_tz,
    utcnow,
)
from ..models.message import Channel, ChannelPreference, GroupMessageTexts
from ..models.user import restrict_to_company

CHART_MONTHS = 36
ORDERS_SHOWN = 60  # templates/queue/case.html lists this many, the latest first


@dataclass
class MonthBar:
    month: date
    revenue: Decimal
    height: float  # 0..100 % of the largest month


@dataclass(slots=True)
class LinkPatterns:
    """The connector's URL patterns into the WaWi (D6) for the customer's source."""

    customer: str | None
    order: str | None
    product: str | None


@dataclass(slots=True)
class CaseExtras:
    """What the case's statement reads along with the case, its customer and company."""

    links: LinkPatterns
    records: dict[str, str | None]  # channel -> do-not-contact reason stored, if any
    sms_text: str  # the first-SMS text an admin set for the case's product group


@dataclass(slots=True)
class ShownLine:
    """An order line as the page lists it: plain values, no ORM object to load."""

    sku: str | None
    product_name: str | None
    product_group: str | None  # the group's name
    quantity: Decimal
    net_amount: Decimal
    link: str | None  # the article in the WaWi
    state: str | None  # its own state (a cancelled position); None: the order's


@dataclass(slots=True)
class ShownOrder:
    """An order as the page lists it, with its lines."""

    id: int
    number: str | None
    external_id: str
    ordered_at: datetime
    state: str
    net_total: Decimal
    company: str | None  # the company's name
    link: str | None  # the order in the WaWi
    lines: list[ShownLine]


class LatestOrders(Sequence[ShownOrder]):
    """The latest orders, with their lines, that the page lists; ``len()`` counts all.

    A customer may have thousands of orders; the page shows the latest ORDERS_SHOWN and
    says how many there are, so only those are loaded (with their lines).
    """

    def __init__(self, loaded: list[ShownOrder], total: int):
        self.loaded = loaded
        self.total = total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index):
        return self.loaded[index]

    def __iter__(self) -> Iterator[ShownOrder]:
        return iter(self.loaded)


@dataclass(slots=True)
class HistoryEntry:
    """A case event of the customer, with the name of who did it."""

    created_at: datetime
    kind: str
    text: str | None
    data: dict
    user_name: str | None  # None: done by the system


@dataclass
class CaseDetails:
    orders: LatestOrders
    chart: list[MonthBar]
    events: list[HistoryEntry]
    notes: list[HistoryEntry]
    messages: list[Row]  # created_at, channel, to_address, state
    channels: dict[str, str | None]  # channel -> reason why it cannot be used
    customer_link: str | None  # the customer in the WaWi
    sms_text: str  # what the SMS form starts with
    variables: dict[str, str]  # what "Send email" would pass to Mailjet, shown before sending


def months_back(today: date, count: int) -> list[date]:
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
    months = months_back(today, CHART_MONTHS)
    peak = max((totals[m] for m in months), default=Decimal(0)) or Decimal(1)
    return [MonthBar(m, totals[m], float(totals[m] / peak * 100)) for m in months]


def _link(pattern: str | None, **values: str | None) -> str | None:
    if not pattern:
        return None
    try:
        return pattern.format(**{k: v or "" for k, v in values.items()})
    except (KeyError, IndexError, ValueError):
        return None


# The page's statements are built once, with the values as bind parameters: building a
# statement and its cache key anew would cost more CPU than running it.
_CASE = (
    select(
        Case,
        User,
        ConnectorConfig.customer_url,
        ConnectorConfig.order_url,
        ConnectorConfig.product_url,
        GroupMessageTexts.first_sms_text,
        *(consent.record_subquery(Case.customer_id, channel) for channel in CHANNELS),
    )
    .join(Case.customer)
    .outerjoin(User, User.id == bindparam("user_id"))
    .outerjoin(ConnectorConfig, ConnectorConfig.name == Customer.source)
    .outerjoin(GroupMessageTexts, GroupMessageTexts.product_group_id == Case.product_group_id)
    .options(contains_eager(Case.customer), joinedload(Case.company))
    .where(Case.id == bindparam("case_id"))
    .execution_options(populate_existing=True)
)


@dataclass(frozen=True)
class _Statements:
    latest_with_lines: Select
    chart_orders: Select
    history: Select
    messages: Select


@lru_cache(maxsize=2)
def _statements(restricted: bool) -> _Statements:
    """The statements of the orders, history and messages, built once per restricted or
    not: a user restricted to a company sees only that company's orders (and counts
    and charts only those), the history of its cases and the messages it sent; the
    ``company`` bind parameter stands for the user's company."""
    company = bindparam("company", type_=Integer) if restricted else None
    latest = restrict_to_company(
        select(
            Order.id,
            Order.number,
            Order.external_id,
            Order.ordered_at,
            Order.state,
            Order.net_total,
            Order.company_id,
        ).where(Order.customer_id == bindparam("customer_id")),
        Order.company_id,
        company,
    )
    latest = latest.order_by(Order.ordered_at.desc(), Order.id.desc())
    latest = latest.limit(ORDERS_SHOWN).subquery()
    order_count = restrict_to_company(
        select(func.count())
        .select_from(Order)
        .where(Order.customer_id == bindparam("customer_id")),
        Order.company_id,
        company,
    ).scalar_subquery()
    latest_with_lines = (
        select(
            latest.c.id,
            latest.c.number,
            latest.c.external_id,
            latest.c.ordered_at,
            latest.c.state,
            latest.c.net_total,
            Company.name,
            order_count.label("total"),
            OrderLine.id,
            OrderLine.sku,
            OrderLine.product_name,
            ProductGroup.name,
            OrderLine.quantity,
            OrderLine.net_amount,
            OrderLine.state,
        )
        .outerjoin(Company, Company.id == latest.c.company_id)
        .outerjoin(OrderLine, OrderLine.order_id == latest.c.id)
        .outerjoin(ProductGroup, ProductGroup.id == OrderLine.product_group_id)
        .order_by(latest.c.ordered_at.desc(), latest.c.id.desc(), OrderLine.line_no)
    )
    chart_orders = restrict_to_company(
        select(Order.state, Order.ordered_at, Order.net_total).where(
            Order.customer_id == bindparam("customer_id"),
            Order.ordered_at >= bindparam("since"),
            Order.state.in_(("completed", "open")),
        ),
        Order.company_id,
        company,
    )
    history = restrict_to_company(
        select(CaseEvent.created_at, CaseEvent.kind, CaseEvent.text, CaseEvent.data, User.name)
        .join(Case, Case.id == CaseEvent.case_id)
        .outerjoin(User, User.id == CaseEvent.user_id)
        .where(Case.customer_id == bindparam("customer_id")),
        Case.company_id,
        company,
    ).order_by(CaseEvent.created_at.desc(), CaseEvent.id.desc())
    messages = restrict_to_company(
        select(Message.created_at, Message.channel, Message.to_address, Message.state).where(
            Message.customer_id == bindparam("customer_id")
        ),
        Message.company_id,
        company,
    )
    messages = messages.order_by(Message.created_at.desc()).limit(50)
    return _Statements(latest_with_lines, chart_orders, history, messages)


def _rows(statement: Select, **params) -> list[Row]:
    """The rows of a statement of plain columns, read through the session's connection:
    the ORM would rebuild each row on the way, which costs more than reading it."""
    return db.session.connection().execute(statement, params).all()


def load_case(case: Case, user: User) -> CaseExtras:
    """Load the case and the user again, with the case's customer and company, and what
    else the page needs of the case (:class:`CaseExtras`).

    One statement fills the case, its customer and company and the signed-in user
    instead of one lazy load per object.
    """
    (case_id,) = inspect(case).identity
    (user_id,) = inspect(user).identity
    row = db.session.execute(_CASE, {"case_id": case_id, "user_id": user_id}).one()
    return CaseExtras(
        links=LinkPatterns(*row[2:5]),
        records=dict(zip(CHANNELS, row[6:], strict=True)),
        sms_text=row[5] or "",
    )


def latest_orders(
    customer_id: int, patterns: LinkPatterns, company: int | None = None
) -> LatestOrders:
    """The latest orders with their lines, as plain values, and the count of all orders,
    in one statement; only those of ``company`` if given (a restricted user's)."""
    statement = _statements(company is not None).latest_with_lines
    rows = _rows(statement, customer_id=customer_id, company=company)
    loaded: list[ShownOrder] = []
    product_links: dict[str | None, str | None] = {}
    for (
        order_id,
        number,
        external_id,
        ordered_at,
        state,
        net_total,
        company,
        _total,
        line_id,
        sku,
        product_name,
        group,
        quantity,
        net_amount,
        line_state,
    ) in rows:
        if not loaded or loaded[-1].id != order_id:
            link = _link(patterns.order, id=external_id, number=number)
            order = ShownOrder(
                order_id, number, external_id, ordered_at, state, net_total, company, link, []
            )
            loaded.append(order)
        if line_id is None:
            continue  # an order without lines
        if sku not in product_links:
            product_links[sku] = sku and _link(patterns.product, sku=sku)
        order.lines.append(
            ShownLine(
                sku, product_name, group, quantity, net_amount, product_links[sku], line_state
            )
        )
    return LatestOrders(loaded, rows[0].total if rows else 0)


def chart_orders(
    orders: LatestOrders, customer_id: int, today: date, tz: ZoneInfo, company: int | None = None
):
    """The orders the chart sums: the loaded ones if those are all, else plain rows
    (state, time, net total) of the orders in the chart's months (of ``company``)."""
    if len(orders) == len(orders.loaded):
        return orders.loaded
    first_day = months_back(today, CHART_MONTHS)[0]
    since = datetime.combine(first_day, time.min, tz).astimezone(UTC)
    statement = _statements(company is not None).chart_orders
    return _rows(statement, customer_id=customer_id, since=since, company=company)


def history(customer_id: int, company: int | None = None) -> list[HistoryEntry]:
    """What happened in all the customer's cases (of ``company``, if given), the latest
    first, with who did it."""
    statement = _statements(company is not None).history
    return [
        HistoryEntry(*row) for row in _rows(statement, customer_id=customer_id, company=company)
    ]


def _channel_reasons(
    customer: Customer, company: Company | None, records: dict[str, str | None]
) -> dict[str, str | None]:
    """Per channel, why the case page cannot send on it: consent and address (M5), then
    the channel preference of the company whose template would be used (M4)."""
    reasons = {ch: consent.reason_from_record(customer, ch, records[ch]) for ch in CHANNELS}
    if company is None or company.channel_preference == ChannelPreference.BOTH:
        return reasons
    return {
        ch: reason or outbox.refusal(customer, company, Channel(ch))
        for ch, reason in reasons.items()
    }


def details(case: Case, user: User) -> CaseDetails:
    """Everything the case page shows besides the case itself; reloads the case first."""
    extras = load_case(case, user)
    customer: Customer = case.customer
    tz = business_tz()
    today = utcnow().astimezone(tz).date()
    company = user.company_id  # a restricted user sees only the company's (see _statements)
    orders = latest_orders(customer.id, extras.links, company)
    events = history(customer.id, company)
    messages = _rows(
        _statements(company is not None).messages, customer_id=customer.id, company=company
    )
    context = outbox.customer_context(customer, company)
    return CaseDetails(
        orders=orders,
        chart=revenue_chart(chart_orders(orders, customer.id, today, tz, company), today, tz),
        events=[e for e in events if e.kind != "note"],
        notes=[e for e in events if e.kind == "note"],
        messages=messages,
        channels=_channel_reasons(customer, context.company or case.company, extras.records),
        customer_link=_link(extras.links.customer, id=customer.external_id, number=customer.number),
        sms_text=extras.sms_text,
        variables=outbox.variables_for(customer, context, user),
    )

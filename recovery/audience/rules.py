"""A group's rules: what each rule type stores, its SQL condition on the customer, and
a summary a person reads.

A rule is a dict ``{"type": ..., ...}`` kept in ``ContactGroup.rules``; all rules of a
group must match. Each condition is a set of customer ids (``Customer.id IN (…)``) or a
test on the customer's own columns, so a whole group is one statement over the
customers, never a loop over them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, exists, false, select

from ..extensions import db
from ..formatting import country_name, day, number_format
from ..models import Case, CaseKind, Company, Customer, ProductGroup
from ..models.types import business_tz
from .facts import OrderFacts

FLAGS = ("decline", "overdue", "none")
MAX_MONTHS = 240
FLAG_LABELS = {
    "decline": _l("Flagged for revenue decline"),
    "overdue": _l("Flagged as overdue"),
    "none": _l("Not flagged"),
}


class RuleError(ValueError):
    """A rule that cannot be used; the message names what is wrong."""


@dataclass(frozen=True)
class Names:
    """Names for ids in summaries: product groups and companies."""

    product_groups: dict[int, str]
    companies: dict[int, str]


def _none_of(customers: Select) -> ColumnElement[bool]:
    """The customer is not among ``customers`` (a SELECT of customer ids).

    NOT EXISTS over the derived table, not NOT IN: PostgreSQL hashes a NOT IN list only
    while it fits in work_mem and otherwise scans it again for every customer (hours
    on a million); NOT EXISTS is a hash anti-join at any size."""
    found = customers.subquery()
    return ~exists(select(1).select_from(found).where(found.c[0] == Customer.id))


def _customer_group(rule: dict, orders: OrderFacts) -> ColumnElement[bool]:
    return Customer.customer_group.in_(rule["values"])


def _country(rule: dict, orders: OrderFacts) -> ColumnElement[bool]:
    return Customer.country.in_(rule["values"])


def _product_groups(rule: dict, orders: OrderFacts) -> ColumnElement[bool]:
    """A live line of one of the groups in a live order (in the last ``months``)."""
    months = rule.get("months")
    since = orders.now - timedelta(days=30.4375 * months) if months else None
    return Customer.id.in_(orders.bought(rule["ids"], since))


def _revenue(rule: dict, orders: OrderFacts) -> ColumnElement[bool]:
    """Net revenue of the last 12 months between ``min`` and ``max`` (either may be
    missing); a customer without orders in that time has 0."""
    low = Decimal(rule["min"]) if rule.get("min") is not None else None
    high = Decimal(rule["max"]) if rule.get("max") is not None else None

    def inside(total):
        return and_(
            total >= low if low is not None else True, total <= high if high is not None else True
        )

    if (low is None or low <= 0) and (high is None or high >= 0):
        # 0 is inside the band: every customer but those whose sum lies outside it
        return _none_of(orders.with_revenue(lambda total: ~inside(total)))
    return Customer.id.in_(orders.with_revenue(inside))


def _day_start(text: str) -> datetime:
    return datetime.combine(date.fromisoformat(text), time(), business_tz())


def _last_order(rule: dict, orders: OrderFacts) -> ColumnElement[bool]:
    """The latest live order on a day between ``from`` and ``to`` (the business's days)."""

    def between(latest):
        bounds = []
        if rule.get("from"):
            bounds.append(latest >= _day_start(rule["from"]))
        if rule.get("to"):
            bounds.append(latest < _day_start(rule["to"]) + timedelta(days=1))
        return and_(*bounds)

    return Customer.id.in_(orders.with_last_order(between))


def _flag(rule: dict, orders: OrderFacts) -> ColumnElement[bool]:
    """Flagged = an open case of that kind; "none" = no open case at all."""
    open_cases = select(Case.customer_id).where(Case.closed_at.is_(None))
    if rule["value"] == "none":
        return _none_of(open_cases)
    kind = CaseKind.DECLINE if rule["value"] == "decline" else CaseKind.OVERDUE
    return Customer.id.in_(open_cases.where(Case.kind == kind))


def _company(rule: dict, orders: OrderFacts) -> ColumnElement[bool]:
    """Bought from one of the companies (any order, any state)."""
    return Customer.id.in_(orders.bought_from(rule["ids"]))


CONDITIONS: dict[str, Callable[[dict, OrderFacts], ColumnElement[bool]]] = {
    "customer_group": _customer_group,
    "country": _country,
    "product_groups": _product_groups,
    "revenue": _revenue,
    "last_order": _last_order,
    "flag": _flag,
    "company": _company,
}


def matching(rules: list[dict] | None, orders: OrderFacts) -> Select:
    """``SELECT customer.id`` of the customers every rule matches; none without rules.

    ``orders``: the summed orders of ``order_facts`` built for these rules. A sign-up
    contact merged into a WaWi customer is never matched: the customer stands for it."""
    stmt = select(Customer.id)
    if not rules:
        return stmt.where(false())
    return stmt.where(
        Customer.merged_into_id.is_(None),
        *(CONDITIONS[rule["type"]](rule, orders) for rule in rules),
    )


# --- checking what the editor sends ------------------------------------------------


def _texts(values: Iterable[Any], what: str, longest: int) -> list[str]:
    found = sorted({str(v).strip() for v in values if str(v).strip()})
    if not found:
        raise RuleError(_("Choose at least one value for “%(what)s”.", what=what))
    if any(len(v) > longest for v in found):
        raise RuleError(_("A value for “%(what)s” is too long.", what=what))
    return found


def _ids(values: Iterable[Any], what: str) -> list[int]:
    try:
        found = sorted({int(v) for v in values})
    except (TypeError, ValueError):
        raise RuleError(_("“%(what)s” holds something that is no choice.", what=what)) from None
    if not found:
        raise RuleError(_("Choose at least one value for “%(what)s”.", what=what))
    return found


def _amount(value: Any, what: str) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).strip().replace(" ", "")
    if "," in text:  # German: 1.234,56
        text = text.replace(".", "").replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RuleError(_("“%(what)s” is no amount.", what=what)) from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e12"):
        raise RuleError(_("“%(what)s” is no amount.", what=what))
    return str(amount.quantize(Decimal("0.01")))


def _day(value: Any, what: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise RuleError(_("“%(what)s” is no date.", what=what)) from None


def checked(rule: dict) -> dict:
    """The rule as stored: known type, values of the right kind, bounds in order."""
    kind = rule.get("type")
    if kind in ("customer_group", "country"):
        what = _l("WaWi customer group") if kind == "customer_group" else _l("Country")
        values = _texts(rule.get("values") or [], what, 100 if kind == "customer_group" else 2)
        return {"type": kind, "values": values}
    if kind == "product_groups":
        ids = _ids(rule.get("ids") or [], _l("Product groups bought"))
        months = rule.get("months")
        if months in (None, ""):
            return {"type": kind, "ids": ids, "months": None}
        try:
            months = int(months)
        except (TypeError, ValueError):
            months = 0
        if not 1 <= months <= MAX_MONTHS:
            raise RuleError(
                _("The months must be a whole number from 1 to %(most)d.", most=MAX_MONTHS)
            )
        return {"type": kind, "ids": ids, "months": months}
    if kind == "company":
        return {"type": kind, "ids": _ids(rule.get("ids") or [], _l("Company"))}
    if kind == "revenue":
        low = _amount(rule.get("min"), _l("Revenue from"))
        high = _amount(rule.get("max"), _l("Revenue to"))
        if low is None and high is None:
            raise RuleError(_("Give a lower or an upper bound for the revenue."))
        if low is not None and high is not None and Decimal(low) > Decimal(high):
            raise RuleError(_("The lower revenue bound is above the upper one."))
        return {"type": kind, "min": low, "max": high}
    if kind == "last_order":
        start = _day(rule.get("from"), _l("Last order from"))
        end = _day(rule.get("to"), _l("Last order to"))
        if start is None and end is None:
            raise RuleError(_("Give a first or a last day for the last order."))
        if start and end and start > end:
            raise RuleError(_("The first day of the last order is after the last day."))
        return {"type": kind, "from": start, "to": end}
    if kind == "flag":
        if rule.get("value") not in FLAGS:
            raise RuleError(_("Choose how the customer is flagged."))
        return {"type": kind, "value": rule["value"]}
    raise RuleError(_("Unknown rule."))


# --- what a person reads -------------------------------------------------------------


def names() -> Names:
    return Names(
        product_groups=dict(db.session.execute(select(ProductGroup.id, ProductGroup.name)).all()),
        companies=dict(db.session.execute(select(Company.id, Company.name)).all()),
    )


def summary(rules: list[dict] | None, known: Names, locale: str = "de") -> list[str]:
    """One short line per rule, e.g. "Country: Germany, Austria"."""
    money = number_format(locale).money
    tz = business_tz()
    lines = []
    for rule in rules or []:
        kind = rule["type"]
        if kind == "customer_group":
            lines.append(_("WaWi customer group: %(v)s", v=", ".join(rule["values"])))
        elif kind == "country":
            countries = ", ".join(country_name(c, locale) for c in rule["values"])
            lines.append(_("Country: %(v)s", v=countries))
        elif kind == "product_groups":
            groups = ", ".join(known.product_groups.get(i, f"#{i}") for i in rule["ids"])
            if rule.get("months"):
                lines.append(_("Bought %(v)s in the last %(n)d months", v=groups, n=rule["months"]))
            else:
                lines.append(_("Ever bought %(v)s", v=groups))
        elif kind == "revenue":
            low = money(Decimal(rule["min"])) if rule.get("min") is not None else None
            high = money(Decimal(rule["max"])) if rule.get("max") is not None else None
            if low and high:
                text = _(
                    "Net revenue in the last 12 months: %(low)s to %(high)s", low=low, high=high
                )
            elif low:
                text = _("Net revenue in the last 12 months: at least %(low)s", low=low)
            else:
                text = _("Net revenue in the last 12 months: at most %(high)s", high=high)
            lines.append(text)
        elif kind == "last_order":
            start = day(date.fromisoformat(rule["from"]), locale, tz) if rule.get("from") else None
            end = day(date.fromisoformat(rule["to"]), locale, tz) if rule.get("to") else None
            if start and end:
                text = _("Last order from %(start)s to %(end)s", start=start, end=end)
            elif start:
                text = _("Last order on %(start)s or later", start=start)
            else:
                text = _("Last order on %(end)s or earlier", end=end)
            lines.append(text)
        elif kind == "flag":
            lines.append(str(FLAG_LABELS[rule["value"]]))
        elif kind == "company":
            companies = ", ".join(known.companies.get(i, f"#{i}") for i in rule["ids"])
            lines.append(_("Bought from %(v)s", v=companies))
    return lines

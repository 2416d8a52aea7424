"""The Mailjet variables of a customer (PRODUCT.md M2), as plain strings.

Every name in :data:`VARIABLE_NAMES` is always present; an unknown value is an empty
string. The transport leaves empty values out of the Mailjet call, because Mailjet
uses a placeholder's default (``{{var:vorname:"Kundin, Kunde"}}``) only when the
variable is missing; the local renderer treats empty the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

from .. import formatting

# The names users already use in their Mailjet templates; the UI lists them in this order.
VARIABLE_NAMES: tuple[str, ...] = (
    "name",
    "vorname",
    "nachname",
    "firmenname",
    "ort",
    "land",
    "email",
    "kundennummer",
    "kundengruppe",
    "letzte_bestellung",
    "letzte_bestellung_tage",
    "letzte_warengruppe",
    "abmeldelink",
    "shop_link",
    "betreuer",
)

# Sample values for previews of templates and SMS texts.
SAMPLE_VARIABLES: dict[str, str] = {
    "name": "Erika Mustermann",
    "vorname": "Erika",
    "nachname": "Mustermann",
    "firmenname": "Mustermann Gartenbau GmbH",
    "ort": "Köln",
    "land": "Deutschland",
    "email": "erika.mustermann@example.com",
    "kundennummer": "K-10023",
    "kundengruppe": "Fachhandel",
    "letzte_bestellung": "14.03.2025",
    "letzte_bestellung_tage": "120",
    "letzte_warengruppe": "Gartengeräte",
    "abmeldelink": "https://example.com/abmelden/beispiel",
    "shop_link": "https://shop.example.com",
    "betreuer": "Max Vertrieb",
}


@dataclass(frozen=True, slots=True)
class CustomerVars:
    """What the variables need from a customer; the caller fills it from the models.

    ``last_product_group`` is the product group with the largest net share of the
    last order; the caller computes it (it needs the order lines, a database job).
    """

    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    city: str | None = None
    country: str | None = None
    email: str | None = None
    number: str | None = None
    customer_group: str | None = None
    last_order_at: datetime | date | None = None
    last_product_group: str | None = None


def build_variables(
    customer: CustomerVars,
    *,
    unsubscribe_url: str,
    shop_link: str = "",
    sales_person: str = "",
    as_of: datetime | date,
    locale: str = "de",
    timezone: str | tzinfo = "Europe/Berlin",
) -> dict[str, str]:
    """All M2 variables for one customer; dates are taken in the business time zone."""
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    person = " ".join(p for p in (_clean(customer.first_name), _clean(customer.last_name)) if p)
    last_day = (
        formatting.local_day(customer.last_order_at, zone) if customer.last_order_at else None
    )
    values = {
        "name": person or _clean(customer.company_name),
        "vorname": _clean(customer.first_name),
        "nachname": _clean(customer.last_name),
        "firmenname": _clean(customer.company_name),
        "ort": _clean(customer.city),
        "land": formatting.country_name(customer.country, locale),
        "email": _clean(customer.email),
        "kundennummer": _clean(customer.number),
        "kundengruppe": _clean(customer.customer_group),
        "letzte_bestellung": formatting.day(last_day, "de", zone) if last_day else "",
        "letzte_bestellung_tage": (
            str(max(0, (formatting.local_day(as_of, zone) - last_day).days)) if last_day else ""
        ),
        "letzte_warengruppe": _clean(customer.last_product_group),
        "abmeldelink": unsubscribe_url or "",
        "shop_link": shop_link or "",
        "betreuer": sales_person or "",
    }
    return {name: values[name] for name in VARIABLE_NAMES}


def _clean(value: str | None) -> str:
    return (value or "").strip()

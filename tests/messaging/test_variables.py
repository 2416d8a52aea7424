"""The M2 variables: every name always there, dates in the business time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from recovery.formatting import country_name
from recovery.messaging.variables import (
    SAMPLE_VARIABLES,
    VARIABLE_NAMES,
    CustomerVars,
    build_variables,
)

AS_OF = datetime(2025, 7, 12, 8, 0, tzinfo=UTC)


def variables(customer: CustomerVars, **kwargs) -> dict[str, str]:
    options = {
        "unsubscribe_url": "https://app.example.com/u/tok",
        "shop_link": "https://shop.example.com",
        "sales_person": "Max Vertrieb",
        "as_of": AS_OF,
    }
    options.update(kwargs)
    return build_variables(customer, **options)


def test_a_known_customer_fills_every_variable():
    customer = CustomerVars(
        first_name=" Erika ",
        last_name="Mustermann",
        company_name="Mustermann Gartenbau GmbH",
        city="Köln",
        country="DE",
        email="erika@example.com",
        number="K-10023",
        customer_group="Fachhandel",
        # 23:30 UTC on the 13th is already the 14th in Berlin.
        last_order_at=datetime(2025, 3, 13, 23, 30, tzinfo=UTC),
        last_product_group="Gartengeräte",
    )

    assert variables(customer) == {
        "name": "Erika Mustermann",
        "vorname": "Erika",
        "nachname": "Mustermann",
        "firmenname": "Mustermann Gartenbau GmbH",
        "ort": "Köln",
        "land": "Deutschland",
        "email": "erika@example.com",
        "kundennummer": "K-10023",
        "kundengruppe": "Fachhandel",
        "letzte_bestellung": "14.03.2025",
        "letzte_bestellung_tage": "120",
        "letzte_warengruppe": "Gartengeräte",
        "abmeldelink": "https://app.example.com/u/tok",
        "shop_link": "https://shop.example.com",
        "betreuer": "Max Vertrieb",
    }


def test_an_unknown_customer_still_has_every_name_with_empty_values():
    result = variables(CustomerVars(), shop_link="", sales_person="")

    assert tuple(result) == VARIABLE_NAMES
    assert {k: v for k, v in result.items() if v} == {
        "abmeldelink": "https://app.example.com/u/tok"
    }


def test_name_falls_back_to_the_company():
    result = variables(CustomerVars(company_name="Gärtnerei Blum KG"))

    assert result["name"] == "Gärtnerei Blum KG"
    assert result["vorname"] == ""


def test_days_count_calendar_days_in_the_business_time_zone():
    customer = CustomerVars(last_order_at=datetime(2025, 7, 11, 22, 30, tzinfo=UTC))

    # 00:30 on the 12th in Berlin: ordered today, not yesterday.
    assert variables(customer)["letzte_bestellung_tage"] == "0"
    assert variables(customer, timezone="UTC")["letzte_bestellung_tage"] == "1"


def test_a_plain_date_and_a_naive_utc_time_are_accepted():
    assert (
        variables(CustomerVars(last_order_at=date(2025, 7, 2)))["letzte_bestellung"] == "02.07.2025"
    )
    naive = CustomerVars(last_order_at=datetime(2025, 7, 1, 23, 0))
    assert variables(naive)["letzte_bestellung"] == "02.07.2025"


def test_country_names_follow_the_customers_language():
    assert country_name("AT", "de") == "Österreich"
    assert country_name("at", "en") == "Austria"
    assert country_name("Schweiz", "de") == "Schweiz"
    assert country_name(None) == ""
    assert variables(CustomerVars(country="CH"), locale="en")["land"] == "Switzerland"


def test_sample_values_cover_every_name():
    assert tuple(SAMPLE_VARIABLES) == VARIABLE_NAMES
    assert all(SAMPLE_VARIABLES.values())

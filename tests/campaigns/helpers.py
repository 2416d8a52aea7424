"""Builders for ReConnect's tests: overdue cases of a product group, a group switched on."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from recovery.extensions import db
from recovery.models import Case, Company, ProductGroup, ReconnectSettings
from recovery.models.message import GroupMessageTexts
from tests.concurrency import at_once

FIRST_TEMPLATE = 4711
FIRST_SMS = "Hallo {{var:vorname}}, Zeit für neues Saatgut?"
FOLLOWUP_TEMPLATE = 4712
FOLLOWUP_SMS = "Hallo {{var:vorname}}, wir haben noch Saatgut für Sie."


def shop(build, name: str = "Gartenwelt GmbH", **fields) -> Company:
    values = {
        "sender_email": "service@gartenwelt.example",
        "sender_name": "Gartenwelt",
        "sms_sender": "Gartenwelt",
        "channel_preference": "email",
    }
    values.update(fields)
    return build.company(name, **values)


def overdue(build, company: Company | None, group: ProductGroup, risk="100.00", **customer) -> Case:
    """An open overdue case of ``group`` for a new customer (or ``customer=`` an existing one)."""
    person = customer.pop("customer", None) or build.customer(**customer)
    return build.case(
        person,
        company,
        kind="overdue",
        key=f"overdue:{group.id}",
        product_group_id=group.id,
        revenue_at_risk=Decimal(risk),
        reason_text="bestellt alle 30 Tage; letzte Bestellung vor 81 Tagen",
    )


def switch_on(group: ProductGroup, email: bool = True, sms: bool = False, enabled=True) -> None:
    db.session.add(ReconnectSettings(product_group_id=group.id, enabled=enabled))
    db.session.add(
        GroupMessageTexts(
            product_group_id=group.id,
            first_email_template_id=FIRST_TEMPLATE if email else None,
            first_sms_text=FIRST_SMS if sms else None,
            followup_email_template_id=FOLLOWUP_TEMPLATE if email else None,
            followup_sms_text=FOLLOWUP_SMS if sms else None,
        )
    )
    db.session.commit()


def open_always() -> None:
    """Send windows every day, every hour: what a test sends goes at once."""
    from recovery.campaigns.windows import save_windows

    save_windows({"weekdays": range(7), "hours": range(24)}, None)
    db.session.commit()


REMINDER_TEMPLATE = 4713
REMINDER_SMS = "Hallo {{var:vorname}}, Ihr Saatgut geht bald zur Neige?"


def remind(group: ProductGroup, mode: str = "after", email=True, sms=False, **days) -> None:
    """Switch the group's reorder reminder on (``days_after`` / ``days_before``)."""
    from recovery.models import ReorderSettings

    db.session.add(
        ReorderSettings(
            product_group_id=group.id,
            mode=mode,
            email_template_id=REMINDER_TEMPLATE if email else None,
            sms_text=REMINDER_SMS if sms else None,
            **days,
        )
    )
    db.session.commit()


def decide_at_once(app, decide: Callable[[], object], workers: int = 2) -> list[str]:
    """``decide()`` run by ``workers`` threads released at the same moment, each with its
    own session; what each did ("sent N skipped M") or how it crashed."""
    return [
        f"sent {r.sent} skipped {sum(r.skipped.values())}"
        if not isinstance(r, BaseException)
        else f"crashed: {r!r}"
        for r in at_once(app, lambda _i: decide(), workers, request=True)
    ]

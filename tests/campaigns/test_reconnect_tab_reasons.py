"""The "not reachable" tab decides the reasons once per kind of customer: each row
still says what ``outbox.plan_channels`` says of that customer – the decision every
send makes –, down to the invalid mobile number in the words."""

from __future__ import annotations

import re

import pytest

from recovery.extensions import db
from recovery.messaging import outbox
from recovery.models import DoNotContact, Message
from recovery.models.message import CHANNEL_LABELS, Channel
from tests.campaigns.helpers import overdue, shop, switch_on

pytestmark = pytest.mark.usefixtures("always_open")


def _reason_cell(html: str, customer_id: int) -> str:
    row = html.split(f'data-customer="{customer_id}"')[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", cells[8]).split()).replace("&#39;", "'")


def _one_by_one(customer, preference: str) -> str:
    """The reasons as the tab wrote them before, one ``plan_channels`` per row."""
    records = {
        d.channel: d.reason
        for d in db.session.query(DoNotContact).filter_by(customer_id=customer.id)
    }
    plan = outbox.plan_channels(customer, preference, records=records)
    reasons = (
        []
        if plan.channels
        else [f"{CHANNEL_LABELS[Channel(c)]}: {r}" for c, r in sorted(plan.reasons.items())]
    )
    return " · ".join([*reasons, "contacted too recently"])


@pytest.mark.parametrize("preference", ["both", "sms_else_email", "sms"])
def test_every_row_has_the_reasons_of_its_own_customer(client, login_as, build, app, preference):
    company = shop(build, channel_preference=preference)
    group = build.group("Saatgut")
    switch_on(group)
    people = [
        {"email": None, "mobile": "12345"},  # not a number
        {"email": None, "mobile": "030 1234567"},  # a fixed line, not a mobile
        {"email": None, "mobile": "0171 1234567", "marketing_consent": False},
        {"email": None, "mobile": None},
        {"email": None, "mobile": "0171 7654321", "sms_dnc": "hard_bounce"},
        {"email_dnc": "unsubscribed", "mobile": None},
        {"email": None, "mobile": "0172 1111111", "country": "AT"},  # AT: no valid mobile
        {"email": None, "mobile": "0171 2222222"},  # reachable by SMS
    ]
    cases = []
    for person in people:
        dnc = {c: person.pop(f"{c}_dnc", None) for c in ("email", "sms")}
        case = overdue(build, company, group, **person)
        for channel, reason in dnc.items():
            if reason:
                db.session.add(
                    DoNotContact(customer_id=case.customer_id, channel=channel, reason=reason)
                )
        cases.append(case)
        # A marketing message inside the cap: every one of them is in the tab.
        db.session.add(
            Message(
                customer_id=case.customer_id,
                purpose="queue",
                marketing=True,
                to_address="x@example.de",
                state="outbox",
            )
        )
    db.session.commit()
    login_as("sales", locale="en")
    html = client.get(f"/reconnect/group/{group.id}/unreachable").get_data(as_text=True)
    with app.test_request_context():
        from flask_babel import force_locale

        with force_locale("en"):
            expected = {c.customer_id: _one_by_one(c.customer, preference) for c in cases}
    shown = {c.customer_id: _reason_cell(html, c.customer_id) for c in cases}
    assert shown == expected
    assert "the mobile number 12345 is not valid" in shown[cases[0].customer_id]
    assert "030 1234567" in shown[cases[1].customer_id]

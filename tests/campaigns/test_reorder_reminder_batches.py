"""The reorder reminders decided in batches (issue 14, the daily run): a batch holding
every reason not to send, a hold and sends decides each reminder exactly as deciding
them one at a time does – the held ones too, when decided again – and two workers
deciding the same batch at once send each reminder once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from recovery.campaigns.reminders import decide_reminders
from recovery.extensions import db as _db
from recovery.models import (
    DoNotContact,
    Message,
    ProductGroup,
    ReconnectExclusion,
    ReorderReminder,
)
from tests.campaigns.helpers import decide_at_once, remind, shop
from tests.conftest import utc

DAY = timedelta(days=1)
T0 = utc(2026, 11, 3, 11, 30)
DUE = T0 + 30 * DAY + timedelta(hours=1)
MOBILE = "+4917012345678"

pytestmark = pytest.mark.usefixtures("always_open")

# Per customer (first name) and group: state, reason, the channels of its messages.
EXPECTED = {
    ("Ordered", "Saatgut"): ("skipped", "ordered", []),
    ("Openorder", "Saatgut"): ("skipped", "open_order", []),
    ("Switched", "Saatgut"): ("skipped", "switched_off", []),
    ("Unsubscribed", "Saatgut"): ("skipped", "unsubscribed", []),
    ("Noconsent", "Saatgut"): ("skipped", "unsubscribed", []),
    ("Nosender", "Saatgut"): ("skipped", "cannot_send", []),
    ("Notext", "Werkzeug"): ("skipped", "no_text", []),
    ("Held", "Saatgut"): ("held", "cap", []),
    ("Anna", "Saatgut"): ("sent", None, ["email"]),
    ("Berta", "Saatgut"): ("sent", None, ["email"]),
    ("Both", "Saatgut"): ("sent", None, ["email", "sms"]),
    # two groups: the group decided first sends, the other is held by that message
    ("Twogroups", "Dünger"): ("sent", None, ["email"]),
    ("Twogroups", "Saatgut"): ("held", "cap", []),
}


@pytest.fixture()
def every_outcome(app, db, build):
    """One reminder per outcome, all due at ``DUE``."""
    garden = shop(build)
    both = shop(build, "Beides GmbH", channel_preference="both")
    nosender = shop(build, "Ohne Absender GmbH", sender_email=None)
    # Dünger first: its reminders are decided before Saatgut's
    remind(build.group("Dünger"), "after", days_after=30)
    remind(build.group("Saatgut"), "after", sms=True, days_after=30)
    remind(build.group("Werkzeug"), "after", email=False, days_after=30)
    people = {}
    for n, (name, group) in enumerate(EXPECTED):
        company = {"Both": both, "Nosender": nosender}.get(name, garden)
        if name not in people:
            extra = {"mobile": MOBILE} if name == "Both" else {}
            if name == "Noconsent":
                extra["marketing_consent"] = False
            people[name] = build.customer(first_name=name, **extra)
        build.order(people[name], T0 + n * timedelta(minutes=1), "40.00", group, company)
    # what happened since the orders
    build.order(people["Ordered"], T0 + 10 * DAY, "20.00", "Saatgut", garden)
    build.order(people["Openorder"], T0 + 10 * DAY, "20.00", "Werkzeug", garden, "open")
    group = build.group("Saatgut")
    _db.session.add(
        ReconnectExclusion(customer_id=people["Switched"].id, product_group_id=group.id)
    )
    _db.session.add(
        DoNotContact(customer_id=people["Unsubscribed"].id, channel="email", reason="unsubscribed")
    )
    held = people["Held"]
    _db.session.add(
        Message(
            customer_id=held.id,
            purpose="queue",
            to_address=held.email,
            state="sent",
            created_at=T0 + 27 * DAY,
            sent_at=T0 + 27 * DAY,
        )
    )
    _db.session.commit()
    return people


def _outcomes() -> dict[tuple[str, str], tuple]:
    _db.session.expire_all()
    found = {}
    groups = dict(_db.session.execute(select(ProductGroup.id, ProductGroup.name)).tuples().all())
    for r in _db.session.scalars(select(ReorderReminder)):
        ids = [i for i in (r.email_message_id, r.sms_message_id) if i is not None]
        messages = _db.session.scalars(select(Message).where(Message.id.in_(ids))).all()
        assert {m.purpose for m in messages} <= {"reminder"}
        key = (r.customer.first_name, groups[r.product_group_id])
        found[key] = (r.state, r.reason, sorted(str(m.channel) for m in messages))
    return found


def _decide(app, at, batch=200):
    """The decision at ``at``, with the clock there (messages are stamped with it)."""
    with app.test_request_context(), time_machine.travel(at, tick=False):
        return decide_reminders(at, batch=batch)


@pytest.mark.parametrize("batch", [1, 200], ids=["one by one", "one batch"])
def test_a_batch_decides_each_reminder_as_deciding_it_alone(app, every_outcome, batch):
    result = _decide(app, DUE, batch)
    again = _decide(app, DUE + timedelta(hours=1), batch)
    assert _outcomes() == EXPECTED
    assert (result.sent, result.held) == (4, 2)
    assert result.skipped == {
        "ordered": 1,
        "open_order": 1,
        "switched_off": 1,
        "unsubscribed": 2,
        "cannot_send": 1,
        "no_text": 1,
    }
    assert (again.sent, again.held, again.skipped) == (0, 0, {})  # decided once
    messages = _db.session.scalars(select(Message).where(Message.purpose == "reminder")).all()
    assert len(messages) == 5
    # the cap frees the first held one (a message on day 27) after 7 days, the other
    # (held by its reminder of the other group, sent at DUE) a week after DUE
    later = _decide(app, T0 + 34 * DAY + timedelta(hours=2), batch)
    assert (later.sent, later.held, later.skipped) == (1, 0, {})
    assert _decide(app, DUE + 7 * DAY - timedelta(hours=1), batch).sent == 0
    last = _decide(app, DUE + 7 * DAY + timedelta(hours=1), batch)
    assert (last.sent, last.held, last.skipped) == (1, 0, {})
    outcomes = _outcomes()
    assert outcomes[("Held", "Saatgut")] == ("sent", None, ["email"])
    assert outcomes[("Twogroups", "Saatgut")] == ("sent", None, ["email"])


def test_two_workers_deciding_the_same_batch_at_once_send_each_reminder_once(app, every_outcome):
    with time_machine.travel(DUE, tick=False):
        outcomes = decide_at_once(app, lambda: decide_reminders(DUE))
    assert not [o for o in outcomes if o.startswith("crashed")], outcomes
    assert _outcomes() == EXPECTED, outcomes
    reminders = _db.session.scalars(select(Message).where(Message.purpose == "reminder")).all()
    assert len(reminders) == 5  # Anna, Berta, Both (email and SMS), Twogroups

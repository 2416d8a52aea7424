"""The reorder reminder (R6), decided by the worker: "N days after the order" and "at
the predicted time" (frozen clock); never after a new order of the group, with an open
order or after an unsubscribe – each reason on the reminder row; held by the marketing
cap and sent later; once per starting order even when the worker dies mid-batch; only
inside the send windows; cancelled at send time when no longer relevant; reorders
credited within the attribution window."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask import current_app
from sqlalchemy import event, select

from recovery.campaigns.reminders import decide_reminders
from recovery.campaigns.windows import save_windows
from recovery.cases.analysis import run_analysis
from recovery.extensions import db
from recovery.jobs import registry
from recovery.messaging.sending_loop import SendingLoop
from recovery.models import (
    DoNotContact,
    Message,
    ReconnectExclusion,
    ReorderDue,
    ReorderReminder,
    utcnow,
)
from tests.campaigns.helpers import REMINDER_SMS, REMINDER_TEMPLATE, remind, shop
from tests.conftest import utc
from tests.messaging.messaging_fixtures import FAST

DAY = timedelta(days=1)
# Tuesday 3 November 2026, 12:30 in Berlin (11:30 UTC).
T0 = utc(2026, 11, 3, 11, 30)


def _task(name: str, now):
    task = next(t for t in registry.recurring_tasks() if t.name == name)
    return task.run(now)


def _decide(now):
    """The recurring task as the worker runs it."""
    return _task("reorder reminders", now)


def _reminders() -> list[ReorderReminder]:
    db.session.expire_all()
    return db.session.scalars(select(ReorderReminder).order_by(ReorderReminder.id)).all()


def _messages() -> list[Message]:
    db.session.expire_all()
    return db.session.scalars(
        select(Message).where(Message.purpose == "reminder").order_by(Message.id)
    ).all()


def _salesperson_email(customer, at) -> None:
    """A marketing email from the case page that went out at ``at``: the cap counts it."""
    db.session.add(
        Message(
            customer_id=customer.id,
            purpose="queue",
            to_address=customer.email,
            state="sent",
            created_at=at,
            sent_at=at,
        )
    )
    db.session.commit()


@pytest.fixture()
def ordered(app, db, build):
    """Anna bought seeds (group "Saatgut", reminder 30 days after the order) at T0."""
    save_windows({"weekdays": range(7), "hours": range(24)}, None)
    company = shop(build, channel_preference="both")
    remind(build.group("Saatgut"), "after", sms=True, days_after=30)
    anna = build.customer(first_name="Anna", mobile="+491701234567")
    order = build.order(anna, T0, "80.00", "Saatgut", company)
    return anna, order, company


@pytest.mark.usefixtures("ordered")
def test_n_days_after_the_order_the_reminder_goes_once_on_both_channels(app):
    with app.test_request_context():
        assert _decide(T0 + 29 * DAY).sent == 0
        assert _messages() == []
        assert _decide(T0 + 30 * DAY).sent == 1
        assert _decide(T0 + 31 * DAY).sent == 0
    email, sms = sorted(_messages(), key=lambda m: m.channel)
    assert (email.channel, email.template_id, email.case_id) == ("email", REMINDER_TEMPLATE, None)
    assert sms.channel == "sms" and "Anna" in sms.body and REMINDER_SMS[:5] in sms.body
    [reminder] = _reminders()
    assert (reminder.state, reminder.reason, reminder.channels) == ("sent", None, "sms,email")
    assert reminder.due_at == T0 + 30 * DAY
    assert {reminder.email_message_id, reminder.sms_message_id} == {email.id, sms.id}


def test_a_reminder_long_overdue_is_not_sent_any_more(app, ordered):
    with app.test_request_context():
        assert _decide(T0 + 38 * DAY).sent == 0
    assert _reminders() == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b, anna, co: b.order(anna, T0 + 10 * DAY, "20.00", "Saatgut", co), "ordered"),
        (
            lambda b, anna, co: b.order(anna, T0 + 10 * DAY, "20.00", "Dünger", co, "open"),
            "open_order",
        ),
        (
            lambda b, anna, co: [
                db.session.add(DoNotContact(customer_id=anna.id, channel=ch, reason="unsubscribed"))
                for ch in ("email", "sms")
            ],
            "unsubscribed",
        ),
        (
            lambda b, anna, co: db.session.add(
                ReconnectExclusion(customer_id=anna.id, product_group_id=b.group("Saatgut").id)
            ),
            "switched_off",
        ),
    ],
)
def test_no_reminder_after_a_new_order_an_open_order_or_an_unsubscribe(
    app, build, ordered, change, reason
):
    anna, _order, company = ordered
    change(build, anna, company)
    db.session.commit()
    with app.test_request_context():
        result = _decide(T0 + 30 * DAY)
        assert (result.sent, result.skipped) == (0, {reason: 1})
        assert _decide(T0 + 30 * DAY + timedelta(hours=1)).skipped == {}
    [reminder] = _reminders()
    assert (reminder.state, reminder.reason, reminder.sent_at) == ("skipped", reason, None)
    assert _messages() == []


def test_a_decision_counts_only_the_orders_placed_by_its_moment(app, build, ordered):
    # the demo decides its history day by day; an order placed after that day (the
    # reorder the reminder is credited with) must not stop the reminder before it
    anna, _order, company = ordered
    build.order(anna, T0 + 35 * DAY, "30.00", "Saatgut", company)
    build.order(anna, T0 + 36 * DAY, "10.00", "Dünger", company, state="open")
    db.session.commit()
    with app.test_request_context():
        assert _decide(T0 + 30 * DAY).sent == 1
    [reminder] = _reminders()
    assert (reminder.state, reminder.reason) == ("sent", None)


def test_an_order_of_another_group_does_not_stop_the_reminder(app, build, ordered):
    anna, _order, company = ordered
    build.order(anna, T0 + 10 * DAY, "20.00", "Dünger", company)
    with app.test_request_context():
        assert _decide(T0 + 30 * DAY).sent == 1


def test_held_by_the_cap_and_sent_when_the_cap_allows(app, build, ordered):
    anna, _order, _company = ordered
    _salesperson_email(anna, T0 + 27 * DAY)
    with app.test_request_context():
        assert _decide(T0 + 30 * DAY).held == 1
        [reminder] = _reminders()
        assert (reminder.state, reminder.reason) == ("held", "cap")
        # the 7-day cap; the window is open then
        assert T0 + 34 * DAY < reminder.held_until <= T0 + 34 * DAY + timedelta(seconds=1)
        assert _decide(T0 + 34 * DAY).sent == 0
        assert _messages() == []
        assert _decide(T0 + 34 * DAY + timedelta(hours=1)).sent == 1
        assert _decide(T0 + 35 * DAY).sent == 0
    [reminder] = _reminders()
    assert (reminder.state, reminder.sent_at) == ("sent", T0 + 34 * DAY + timedelta(hours=1))
    assert len(_messages()) == 2


def test_a_held_reminder_is_not_sent_when_the_customer_ordered_meanwhile(app, build, ordered):
    anna, _order, company = ordered
    _salesperson_email(anna, T0 + 27 * DAY)
    with app.test_request_context():
        assert _decide(T0 + 30 * DAY).held == 1
        build.order(anna, T0 + 32 * DAY, "30.00", "Saatgut", company)
        assert _decide(T0 + 35 * DAY).skipped == {"ordered": 1}
    [reminder] = _reminders()
    assert (reminder.state, reminder.reason) == ("skipped", "ordered")
    assert _messages() == []


def test_only_inside_the_send_windows(app, ordered):
    save_windows({"weekdays": range(6), "hours": (8, 12, 18)}, None)
    db.session.commit()
    # Saturday 5 December 2026, 22:00 in Berlin; Monday 7 December, 8:00.
    saturday_night, monday_8 = utc(2026, 12, 5, 21, 0), utc(2026, 12, 7, 7, 0)
    with app.test_request_context():
        assert _decide(saturday_night).sent == 0
        assert _decide(monday_8 - timedelta(minutes=1)).sent == 0
        assert _reminders() == []
        assert _decide(monday_8).sent == 1


@pytest.mark.parametrize(
    ("batch", "dies_at", "before_restart"),
    [(2, 2, 2), (200, 1, 0)],
    ids=["in the second batch", "in the only batch"],
)
def test_the_worker_killed_mid_batch_sends_every_reminder_once(
    app, build, ordered, batch, dies_at, before_restart
):
    _anna, _order, company = ordered
    for n in range(4):
        build.order(
            build.customer(first_name=f"Kunde{n}"),
            T0 + n * timedelta(minutes=5),
            "10",
            "Saatgut",
            company,
        )

    class Killed(Exception):
        pass

    inserts = []

    def die_writing_a_batch(_conn, _cursor, statement, *_args):
        # a batch's messages are inserted, then its reminders: it dies in between
        if statement.lstrip().upper().startswith("INSERT INTO REORDER_REMINDER"):
            inserts.append(statement)
            if len(inserts) == dies_at:
                raise Killed

    engine = db.engine
    event.listen(engine, "before_cursor_execute", die_writing_a_batch)
    try:
        with app.test_request_context(), pytest.raises(Killed):
            decide_reminders(T0 + 30 * DAY + timedelta(hours=1), batch=batch)
    finally:
        event.remove(engine, "before_cursor_execute", die_writing_a_batch)
    db.session.rollback()
    # the batches before the one it was on are written, that one not at all
    assert [r.state for r in _reminders()] == ["sent"] * before_restart
    assert len({m.customer_id for m in _messages()}) == before_restart
    with app.test_request_context():
        assert decide_reminders(T0 + 30 * DAY + timedelta(hours=2), batch=batch).sent == (
            5 - before_restart
        )
        assert _decide(T0 + 30 * DAY + timedelta(hours=3)).sent == 0
    reminders = _reminders()
    assert len(reminders) == 5 and {r.state for r in reminders} == {"sent"}
    per_customer = {}
    for message in _messages():
        per_customer.setdefault(message.customer_id, []).append(message.channel)
    assert len(per_customer) == 5
    assert all(sorted(v) in (["email"], ["email", "sms"]) for v in per_customer.values())


def _send(at):
    with time_machine.travel(at, tick=False):
        return SendingLoop(current_app._get_current_object(), FAST, now=utcnow).run(once=True)


def test_cancelled_at_send_time_after_a_new_order(app, build, ordered):
    anna, _order, company = ordered
    save_windows({"weekdays": range(6), "hours": (8, 12, 18)}, None)
    db.session.commit()
    due = utc(2026, 12, 3, 11, 45)  # Thursday 12:45 in Berlin
    with app.test_request_context(), time_machine.travel(due, tick=False):
        assert _decide(due).sent == 1
    with app.test_request_context():
        build.order(anna, due + timedelta(minutes=10), "30.00", "Saatgut", company)
        _send(due + timedelta(minutes=20))
    assert {m.state for m in _messages()} == {"cancelled"}
    [reminder] = _reminders()
    assert (reminder.state, reminder.reason) == ("skipped", "ordered")


def test_a_reorder_inside_the_window_is_credited_once(app, build, ordered):
    anna, _order, company = ordered
    with app.test_request_context():
        assert _decide(T0 + 30 * DAY).sent == 1
    build.order(anna, T0 + 40 * DAY, "45.50", "Saatgut", company)
    build.order(anna, T0 + 45 * DAY, "99.00", "Saatgut", company)
    with app.test_request_context():
        assert _task("reorder attribution", T0 + 50 * DAY) == 1
        assert _task("reorder attribution", T0 + 51 * DAY) == 0
    [reminder] = _reminders()
    assert reminder.reordered_at == T0 + 40 * DAY
    assert str(reminder.reordered_revenue) == "45.50"


def test_a_reorder_after_the_window_is_not_credited(app, build, ordered):
    anna, _order, company = ordered
    with app.test_request_context():
        _decide(T0 + 30 * DAY)
    build.order(anna, T0 + 61 * DAY, "45.50", "Saatgut", company)
    with app.test_request_context():
        assert _task("reorder attribution", T0 + 70 * DAY) == 0


def test_at_the_predicted_time_d_days_before_the_customer_becomes_overdue(app, build):
    save_windows({"weekdays": range(7), "hours": range(24)}, None)
    company = shop(build)
    group = build.group("Saatgut")
    remind(group, "predicted", days_before=5)
    berta = build.customer(first_name="Berta")
    for n in range(4):  # every 30 days
        last = build.order(berta, T0 + n * 30 * DAY, "50.00", "Saatgut", company)
    with time_machine.travel(last.ordered_at + DAY, tick=False):
        run_analysis()
    [due] = db.session.scalars(select(ReorderDue)).all()
    assert (due.customer_id, due.product_group_id, due.order_id) == (berta.id, group.id, last.id)
    # overdue when the days since the last order pass 30 × 1.5: from day 46 on
    assert due.overdue_from.astimezone(last.ordered_at.tzinfo) > last.ordered_at + 45 * DAY
    assert due.overdue_from <= last.ordered_at + 47 * DAY
    remind_at = due.overdue_from - 5 * DAY
    with app.test_request_context():
        assert _decide(remind_at - timedelta(hours=1)).sent == 0
        assert _decide(remind_at).sent == 1
        assert _decide(remind_at + DAY).sent == 0
    [reminder] = _reminders()
    assert (reminder.mode, reminder.order_id, reminder.due_at) == ("predicted", last.id, remind_at)
    [message] = _messages()
    assert message.variables["vorname"] == "Berta"


def test_the_analysis_stores_predictions_only_for_groups_waiting_for_them(app, build):
    company = shop(build)
    remind(build.group("Saatgut"), "after", days_after=10)
    regular, late = build.customer(), build.customer()
    for n in range(3):
        for group in ("Saatgut", "Dünger"):
            build.order(regular, T0 + n * 30 * DAY, "50.00", group, company)
        build.order(late, T0 - 60 * DAY + n * 30 * DAY, "50.00", "Dünger", company)
    as_of = T0 + 61 * DAY
    with time_machine.travel(as_of, tick=False):
        run_analysis()
    assert db.session.scalars(select(ReorderDue)).all() == []
    remind(build.group("Dünger"), "predicted", days_before=5)
    with time_machine.travel(as_of, tick=False):
        run_analysis()
    # only the pair not overdue yet: ``late`` ordered 61 days ago (every 30) and is overdue
    rows = db.session.scalars(select(ReorderDue)).all()
    [due] = rows
    assert (due.customer_id, due.product_group_id) == (regular.id, build.group("Dünger").id)
    assert due.overdue_from > as_of


def test_email_and_sms_of_one_reminder_are_one_message_for_the_cap(app, ordered):
    due = T0 + 30 * DAY
    with app.test_request_context(), time_machine.travel(due, tick=False):
        assert _decide(due).sent == 1
    with app.test_request_context():
        _send(due + timedelta(minutes=5))
    messages = _messages()
    assert sorted(m.channel for m in messages) == ["email", "sms"]
    assert {m.state for m in messages} == {"outbox"}  # offline: both went, neither held
    assert {m.error_code for m in messages} == {None}


def test_a_reminder_held_past_its_moment_is_not_sent_any_more(app, ordered):
    anna, _order, _company = ordered
    _salesperson_email(anna, T0 + 27 * DAY)
    with app.test_request_context():
        assert _decide(T0 + 30 * DAY).held == 1
        # the worker was stopped for two weeks
        assert _decide(T0 + 45 * DAY).skipped == {"too_late": 1}
    [reminder] = _reminders()
    assert (reminder.state, reminder.reason) == ("skipped", "too_late")
    assert _messages() == []

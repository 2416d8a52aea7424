"""Send windows (R3) in the business's time zone, with a frozen clock: a batch started on
Saturday night waits for Monday 8:00, across a weekend and a daylight-saving change;
follow-ups are decided only inside a window; the admin page sets windows and the cap."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from recovery.campaigns.first import Scope, queue_first
from recovery.campaigns.followups import decide_followups
from recovery.campaigns.windows import SendWindows
from recovery.extensions import db
from recovery.messaging.cap import MarketingCap
from recovery.models import Message
from tests.campaigns.helpers import overdue, shop, switch_on
from tests.conftest import csrf_from

BERLIN = ZoneInfo("Europe/Berlin")
DEFAULT = SendWindows()  # Mon–Sat 8, 12, 18


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (berlin(2026, 12, 8, 12, 20), berlin(2026, 12, 8, 12, 20)),  # Tuesday, in the window
        (berlin(2026, 12, 8, 13, 0), berlin(2026, 12, 8, 18, 0)),
        (berlin(2026, 12, 11, 19, 0), berlin(2026, 12, 12, 8, 0)),  # Friday night → Saturday
        (berlin(2026, 12, 12, 22, 0), berlin(2026, 12, 14, 8, 0)),  # Saturday night → Monday
        (berlin(2026, 12, 13, 11, 0), berlin(2026, 12, 14, 8, 0)),  # Sunday → Monday
        (berlin(2026, 12, 14, 7, 59), berlin(2026, 12, 14, 8, 0)),
    ],
)
def test_the_next_window(now, expected):
    assert DEFAULT.next_open(now, BERLIN) == expected


@pytest.mark.parametrize(
    ("now", "monday_8_utc"),
    [
        # the clocks go back on Sunday 25 October 2026: Monday 8:00 is 07:00 UTC, not 06:00
        (berlin(2026, 10, 24, 22, 0), datetime(2026, 10, 26, 7, 0, tzinfo=UTC)),
        # the clocks go forward on Sunday 29 March 2026: Monday 8:00 is 06:00 UTC
        (berlin(2026, 3, 28, 22, 0), datetime(2026, 3, 30, 6, 0, tzinfo=UTC)),
    ],
)
def test_a_daylight_saving_change_keeps_the_window_on_its_local_hour(now, monday_8_utc):
    slot = DEFAULT.next_open(now, BERLIN)
    assert slot == monday_8_utc
    assert slot.astimezone(BERLIN).hour == 8


def test_windows_refuse_what_is_no_window():
    with pytest.raises(ValueError, match="at least one weekday"):
        SendWindows.from_dict({"weekdays": []})
    with pytest.raises(ValueError, match="between 0 and 23"):
        SendWindows.from_dict({"hours": [8, 24]})
    with pytest.raises(ValueError, match="whole numbers"):
        SendWindows.from_dict({"hours": ["acht"]})


def test_a_batch_started_on_saturday_night_waits_for_monday_8(app, db, build):
    company = shop(build)
    group = build.group("Saatgut")
    switch_on(group)
    overdue(build, company, group)
    overdue(build, company, group)
    saturday_night = berlin(2026, 10, 24, 22, 0).astimezone(UTC)
    with app.test_request_context():
        assert queue_first(Scope(), None, saturday_night).queued == 2
    messages = db.session.scalars(select(Message)).all()
    assert {m.send_after for m in messages} == {datetime(2026, 10, 26, 7, 0, tzinfo=UTC)}
    assert {m.state for m in messages} == {"queued"}


def test_follow_ups_are_decided_only_inside_a_window(app, db, build):
    company = shop(build)
    group = build.group("Saatgut")
    switch_on(group)
    overdue(build, company, group)
    start = berlin(2027, 1, 7, 8, 30).astimezone(UTC)  # a Thursday, in the window
    with app.test_request_context():
        assert queue_first(Scope(), None, start).queued == 1
        sunday = berlin(2027, 1, 24, 12, 0).astimezone(UTC)  # due, but no window
        assert decide_followups(sunday).sent == 0
        assert db.session.scalars(select(Message).where(Message.purpose == "followup")).all() == []
        monday = berlin(2027, 1, 25, 8, 5).astimezone(UTC)
        assert decide_followups(monday).sent == 1


def test_admins_set_the_windows_and_the_cap(client, login_as, build):
    login_as("sales", locale="en")
    assert client.get("/reconnect/settings").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})
    login_as("admin", locale="en")
    page = client.get("/reconnect/settings").get_data(as_text=True)
    assert 'value="8, 12, 18"' in page and 'value="7"' in page
    token = csrf_from(page)
    bad = client.post(
        "/reconnect/settings",
        data={"csrf_token": token, "weekdays": ["0"], "hours": "8, 25", "cap_days": "3"},
    )
    assert "give at least one hour between 0 and 23" in bad.get_data(as_text=True)
    assert SendWindows.load() == DEFAULT and MarketingCap.load().days == 7
    good = client.post(
        "/reconnect/settings",
        data={"csrf_token": token, "weekdays": ["0", "2"], "hours": "9,17", "cap_days": "3"},
    )
    assert good.status_code == 302
    assert SendWindows.load() == SendWindows((0, 2), (9, 17))
    assert MarketingCap.load().days == 3


def test_the_confirm_page_says_when_the_batch_goes_out(client, login_as, build):
    from recovery.campaigns.windows import save_windows

    save_windows({"weekdays": [0], "hours": [3]}, None)  # Mondays 3:00 only
    db.session.commit()
    company = shop(build)
    group = build.group("Saatgut")
    switch_on(group)
    overdue(build, company, group)
    login_as("sales", locale="de")
    now = datetime.now(UTC)
    html = client.get(f"/reconnect/contact?group={group.id}").get_data(as_text=True)
    slot = SendWindows((0,), (3,)).next_open(now)
    if slot > now:  # the usual case; a Monday between 3:00 and 4:00 has the window open
        assert f"Sendefenster hinaus: {slot.astimezone(BERLIN):%d.%m.%Y} 03:00" in html
    else:
        assert "Sendefenster ist offen" in html

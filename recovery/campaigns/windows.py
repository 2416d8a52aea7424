"""Send windows (R3): ReConnect's messages go out only on the chosen weekdays, in the
chosen hours, in the business's time zone (e.g. Mon–Sat 8:00, 12:00, 18:00).

An hour in the list is a window of one hour: a message queued at 12:20 on a Tuesday
goes at once; one queued on Saturday at 22:00 waits for Monday 8:00. Slots are built as
local times of their own day and converted to UTC, so a daylight-saving change moves no
slot off its hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from flask_babel import gettext as _

from ..models import Setting, business_tz

WINDOWS_KEY = "send_windows"


@dataclass(frozen=True)
class SendWindows:
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5)  # Monday is 0
    hours: tuple[int, ...] = (8, 12, 18)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SendWindows:
        """Validated; raises ValueError naming the field."""
        default = cls()
        try:
            weekdays = tuple(sorted({int(d) for d in values.get("weekdays", default.weekdays)}))
            hours = tuple(sorted({int(h) for h in values.get("hours", default.hours)}))
        except (TypeError, ValueError):
            raise ValueError(_("Send windows: weekdays and hours must be whole numbers.")) from None
        if not weekdays or any(not 0 <= d <= 6 for d in weekdays):
            raise ValueError(_("Send windows: choose at least one weekday."))
        if not hours or any(not 0 <= h <= 23 for h in hours):
            raise ValueError(_("Send windows: give at least one hour between 0 and 23."))
        return cls(weekdays, hours)

    @classmethod
    def load(cls) -> SendWindows:
        return cls.from_dict(Setting.read(WINDOWS_KEY))

    def to_dict(self) -> dict[str, list[int]]:
        return {"weekdays": list(self.weekdays), "hours": list(self.hours)}

    def is_open(self, at: datetime, tz: tzinfo | None = None) -> bool:
        local = at.astimezone(tz or business_tz())
        return local.weekday() in self.weekdays and local.hour in self.hours

    def next_open(self, at: datetime, tz: tzinfo | None = None) -> datetime:
        """``at`` when a window is open, else the start of the next one (UTC)."""
        tz = tz or business_tz()
        if self.is_open(at, tz):
            return at
        today = at.astimezone(tz).date()
        for offset in range(8):
            day = today + timedelta(days=offset)
            if day.weekday() not in self.weekdays:
                continue
            for hour in self.hours:
                start = datetime.combine(day, time(hour), tz)
                if start > at:
                    return start.astimezone(UTC)
        raise AssertionError("a week always has a window")  # weekdays and hours not empty


def save_windows(values: dict[str, Any], user_id: int | None) -> SendWindows:
    """Validate (ValueError naming the field) and store; the caller commits."""
    windows = SendWindows.from_dict(values)
    Setting.write(WINDOWS_KEY, windows.to_dict(), user_id)
    return windows

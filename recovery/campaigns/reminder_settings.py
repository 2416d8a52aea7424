"""The reorder reminder's settings and texts per product group (R6)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import ProductGroup, ReminderMode, ReorderSettings
from .settings import MAX_DAYS, SettingsRefused, available_channels


@dataclass(frozen=True)
class ReminderSettings:
    product_group_id: int
    mode: str = ReminderMode.OFF
    days_after: int = 30
    days_before: int = 7
    email_template_id: int | None = None
    sms_text: str | None = None

    @property
    def on(self) -> bool:
        return self.mode != ReminderMode.OFF

    @property
    def channels(self) -> list[str]:
        """The channels the group has a reminder text for."""
        return available_channels(self.email_template_id, self.sms_text)

    @classmethod
    def of(cls, row: ReorderSettings) -> ReminderSettings:
        return cls(
            row.product_group_id,
            row.mode,
            row.days_after,
            row.days_before,
            row.email_template_id,
            row.sms_text,
        )


def reminder_settings(group_ids: Iterable[int] | None = None) -> dict[int, ReminderSettings]:
    """The groups' settings (all stored ones when ``group_ids`` is None); a group never
    set up has no reminder."""
    stmt = select(ReorderSettings)
    ids = None if group_ids is None else list(group_ids)
    if ids is not None:
        stmt = stmt.where(ReorderSettings.product_group_id.in_(ids))
    found = {r.product_group_id: ReminderSettings.of(r) for r in db.session.scalars(stmt)}
    if ids is None:
        return found
    return {gid: found.get(gid, ReminderSettings(gid)) for gid in ids}


def save_reminder_settings(group: ProductGroup, values: ReminderSettings, user_id) -> None:
    """Validate (SettingsRefused naming the field) and store; the caller commits."""
    if values.mode not in tuple(ReminderMode):
        raise SettingsRefused(_("Choose when the reminder goes out."))
    if values.days_after is None or not 1 <= values.days_after <= MAX_DAYS:
        raise SettingsRefused(
            _(
                "%(field)s must lie between 1 and %(max)s.",
                field=_("Days after the order"),
                max=MAX_DAYS,
            )
        )
    if values.days_before is None or not 0 <= values.days_before <= MAX_DAYS:
        raise SettingsRefused(
            _(
                "%(field)s must lie between 0 and %(max)s.",
                field=_("Days before the customer becomes overdue"),
                max=MAX_DAYS,
            )
        )
    if values.on and not values.channels:
        raise SettingsRefused(
            _("Set an email template or an SMS text before you switch the reminder on.")
        )
    row = db.session.get(ReorderSettings, group.id)
    if row is None:
        row = ReorderSettings(product_group_id=group.id)
        db.session.add(row)
    row.mode = values.mode
    row.days_after = values.days_after
    row.days_before = values.days_before
    row.email_template_id = values.email_template_id or None
    row.sms_text = (values.sms_text or "").strip() or None
    row.updated_by_id = user_id

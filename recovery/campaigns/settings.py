"""ReConnect's settings per product group, and the send switch per customer × group."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import ProductGroup, ReconnectExclusion, ReconnectSettings
from ..models.message import Channel
from . import tally

MAX_DAYS = 365


class SettingsRefused(ValueError):
    """A value is out of range; the text names the field."""


@dataclass(frozen=True)
class GroupSettings:
    product_group_id: int
    enabled: bool = False
    followup_delay_days: int = 14
    attribution_days: int = 30


def group_settings(group_ids: Iterable[int]) -> dict[int, GroupSettings]:
    """Every group's settings; a group never set up is switched off with the defaults."""
    ids = list(group_ids)
    rows = db.session.scalars(
        select(ReconnectSettings).where(ReconnectSettings.product_group_id.in_(ids))
    ).all()
    found = {
        r.product_group_id: GroupSettings(
            r.product_group_id, r.enabled, r.followup_delay_days, r.attribution_days
        )
        for r in rows
    }
    return {gid: found.get(gid, GroupSettings(gid)) for gid in ids}


def save_group_settings(
    group: ProductGroup, enabled: bool, followup_delay_days: int, attribution_days: int, user_id
) -> GroupSettings:
    """Validate and store one group's settings; the caller commits."""
    for label, value in (
        (_("Follow-up after (days)"), followup_delay_days),
        (_("Attribution window (days)"), attribution_days),
    ):
        if value is None or not 1 <= value <= MAX_DAYS:
            raise SettingsRefused(
                _("%(field)s must lie between 1 and %(max)s.", field=label, max=MAX_DAYS)
            )
    row = db.session.get(ReconnectSettings, group.id)
    if row is None:
        row = ReconnectSettings(product_group_id=group.id)
        db.session.add(row)
    row.enabled = enabled
    row.followup_delay_days = followup_delay_days
    row.attribution_days = attribution_days
    row.updated_by_id = user_id
    return GroupSettings(group.id, enabled, followup_delay_days, attribution_days)


def available_channels(template_id: int | None, sms_text: str | None) -> list[str]:
    """The channels a group has a text for: an email template, a non-empty SMS text."""
    found = []
    if template_id:
        found.append(Channel.EMAIL)
    if (sms_text or "").strip():
        found.append(Channel.SMS)
    return found


def set_send_switch(customer_id: int, group_id: int, on: bool, user_id: int | None) -> bool:
    """Turn the send switch of a customer × group on or off; True when it changed.
    The caller commits."""
    if on:
        done = db.session.execute(
            delete(ReconnectExclusion).where(
                ReconnectExclusion.customer_id == customer_id,
                ReconnectExclusion.product_group_id == group_id,
            )
        )
        return _recount(group_id, done.rowcount > 0)
    # A second click (or a second user) at the same time inserts nothing.
    done = db.session.execute(
        insert_ignoring(ReconnectExclusion)
        .values(customer_id=customer_id, product_group_id=group_id, created_by_id=user_id)
        .on_conflict_do_nothing()
    )
    return _recount(group_id, done.rowcount > 0)


def _recount(group_id: int, changed: bool) -> bool:
    # Counted again whatever ``changed`` says: on PostgreSQL the INSERT … ON CONFLICT DO
    # NOTHING above reported rowcount 0 for a row it wrote (seen in test_reconnect_scale).
    tally.recount([group_id])
    return changed


def insert_ignoring(model):
    """INSERT for this database that can skip rows whose key exists (ON CONFLICT)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)

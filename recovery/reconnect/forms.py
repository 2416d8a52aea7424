"""ReConnect's forms: the send switch, the contact confirmation and a group's settings."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField
from wtforms.validators import InputRequired, NumberRange

from ..campaigns.settings import MAX_DAYS


class SwitchForm(FlaskForm):
    """The per-customer send switch: ``send`` is "on" or "off"."""

    send = HiddenField()


class ConfirmForm(FlaskForm):
    """The confirm step of a contact action; its scope travels in the URL."""


class GroupSettingsForm(FlaskForm):
    enabled = BooleanField(_l("ReConnect on for this group"))
    followup_delay_days = IntegerField(
        _l("Follow-up after (days)"),
        validators=[InputRequired(), NumberRange(min=1, max=MAX_DAYS)],
        description=_l("Days after the first message; the worker sends it then."),
    )
    attribution_days = IntegerField(
        _l("Attribution window (days)"),
        validators=[InputRequired(), NumberRange(min=1, max=MAX_DAYS)],
        description=_l("An order of the group this long after the first message counts."),
    )

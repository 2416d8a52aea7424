"""ReConnect's forms: the send switch, the contact confirmation and a group's settings."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

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


WEEKDAYS = [
    (0, _l("Monday")),
    (1, _l("Tuesday")),
    (2, _l("Wednesday")),
    (3, _l("Thursday")),
    (4, _l("Friday")),
    (5, _l("Saturday")),
    (6, _l("Sunday")),
]


class SendingForm(FlaskForm):
    """When ReConnect sends, and the one cap for all marketing."""

    weekdays = SelectMultipleField(
        _l("Weekdays"),
        coerce=int,
        choices=WEEKDAYS,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    hours = StringField(
        _l("Hours"),
        validators=[InputRequired()],
        description=_l("Full hours in the business's time zone, e.g. 8, 12, 18."),
    )
    cap_days = IntegerField(
        _l("At most one marketing message per customer in (days)"),
        validators=[InputRequired(), NumberRange(min=0, max=MAX_DAYS)],
        description=_l("Across the queue, ReConnect and reminders; 0 switches the cap off."),
    )

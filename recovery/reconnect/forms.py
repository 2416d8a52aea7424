"""ReConnect's forms: the send switch, the contact confirmation, a group's settings and
its reorder reminder."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..campaigns.settings import MAX_DAYS
from ..models.reorder import REMINDER_MODE_LABELS


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


class ReminderForm(FlaskForm):
    """A group's reorder reminder (R6): when, and its own texts."""

    mode = RadioField(
        _l("Reorder reminder"),
        choices=list(REMINDER_MODE_LABELS.items()),
        validators=[InputRequired()],
    )
    days_after = IntegerField(
        _l("Days after the order"),
        validators=[InputRequired(), NumberRange(min=1, max=MAX_DAYS)],
        description=_l("N: the reminder goes this many days after an order of the group."),
    )
    days_before = IntegerField(
        _l("Days before the customer becomes overdue"),
        validators=[InputRequired(), NumberRange(min=0, max=MAX_DAYS)],
        description=_l(
            "D: from the analysis's expected next order; the day the customer would "
            "appear in the overdue tab, minus D days."
        ),
    )
    email_template_id = IntegerField(
        _l("Reminder email template ID"),
        validators=[Optional(), NumberRange(min=1, max=2**31 - 1)],
    )
    sms_text = TextAreaField(_l("Reminder SMS text"), validators=[Optional(), Length(max=1000)])

"""The serial message's forms (G4): the draft, the schedule and the one-click steps."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import NumberRange, Optional

from ..models import SALUTATION_MODE_LABELS


class SerialForm(FlaskForm):
    name = StringField(_l("Name"), description=_l("For you only; the recipients do not see it."))
    target = SelectField(_l("Recipients"), choices=[])
    company_id = SelectField(_l("Sender"), coerce=int, choices=[])
    salutation = RadioField(
        _l("Salutation"),
        choices=[(k, v) for k, v in SALUTATION_MODE_LABELS.items()],
        default="formal",
    )
    template_id = IntegerField(
        _l("Mailjet template ID"),
        validators=[Optional(), NumberRange(min=1, max=2**31 - 1)],
        description=_l("Or leave empty and write a subject and a text."),
    )
    subject = StringField(_l("Subject"))
    body = TextAreaField(
        _l("Text"),
        description=_l(
            "Placeholders such as {{var:vorname}} work. The salutation is put in front "
            "(or where you write {{var:anrede}}); the unsubscribe link is added at the end."
        ),
    )


class ScheduleForm(FlaskForm):
    at = StringField(_l("Date and time"))


class StepForm(FlaskForm):
    """Test send, send now, take back: a button with its CSRF token."""

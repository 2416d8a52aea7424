"""The newsletter form of a group (G2); every error message names its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from .messaging_forms import _template_id


class NewsletterForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[
            InputRequired(message=_l("Name: please enter a name.")),
            Length(max=200, message=_l("Name: at most 200 characters.")),
        ],
    )
    description = TextAreaField(
        _l("Description (shown on the sign-up form)"),
        validators=[Length(max=2000, message=_l("Description: at most 2000 characters."))],
    )
    company_id = SelectField(_l("Company (header, footer and sender)"), coerce=int)
    double_opt_in = BooleanField(_l("Customer must confirm (double opt-in)"))
    confirm_template_id = IntegerField(
        _l("Mailjet template ID of the confirmation email"),
        validators=_template_id(_l("Template ID")),
    )
    confirm_subject = StringField(
        _l("Subject of the confirmation email"),
        validators=[Length(max=300, message=_l("Subject: at most 300 characters."))],
    )
    confirm_text = TextAreaField(
        _l("Your own text in the confirmation email"),
        validators=[Length(max=5000, message=_l("Own text: at most 5000 characters."))],
    )
    field_salutation = BooleanField(_l("Ask for the salutation"))
    field_first_name = BooleanField(_l("Ask for the first name"))
    field_last_name = BooleanField(_l("Ask for the last name"))
    expire_hours = IntegerField(
        _l("Unconfirmed sign-ups are deleted after (hours)"),
        validators=[
            InputRequired(message=_l("Hours: please enter a number.")),
            NumberRange(min=1, max=720, message=_l("Hours: between 1 and 720.")),
        ],
    )

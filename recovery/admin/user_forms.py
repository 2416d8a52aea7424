"""Forms of Admin → Users; every error message names its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from .messaging_forms import EMAIL

ROLE_CHOICES = [("sales", _l("Sales")), ("admin", _l("Admin"))]


class UserForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(message=_l("Name: please enter a name.")),
            Length(max=200, message=_l("Name: at most 200 characters.")),
        ],
    )
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="sales")
    # "" = every company; the choices are the companies (set by the view)
    company = SelectField(_l("Sees the customers of"), choices=[], default="")
    active = BooleanField(_l("Active (may log in)"), default=True)


class NewUserForm(UserForm):
    email = StringField(
        _l("Email address"),
        validators=[
            DataRequired(message=_l("Email address: please enter one.")),
            Length(max=254, message=_l("Email address: at most 254 characters.")),
            Regexp(EMAIL, message=_l("Email address: not an email address.")),
        ],
    )

"""The case page's forms, one per action (see action_table)."""

import secrets

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..models import TEMPLATE_KIND_LABELS
from .actions import REMIND_DAYS


class ActionForm(FlaskForm):
    """Every case form carries a one-time token so a resend does nothing twice."""

    token = HiddenField(label="")  # a label of its own would load the WTForms catalogue

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.token.data:
            self.token.data = secrets.token_urlsafe(24)

    def values(self) -> dict:
        """The fields besides the tokens, by name: the action's service takes them as
        keyword arguments."""
        return {f.short_name: f.data for f in self if f.short_name not in ("token", "csrf_token")}


class TakeoverForm(ActionForm):
    """Taking a case over from the colleague who holds it: only the tokens."""


class NoteForm(ActionForm):
    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=5000)])


class NoInterestForm(ActionForm):
    text = TextAreaField(_l("Reason (optional)"), validators=[Optional(), Length(max=2000)])


class OfferForm(ActionForm):
    text = TextAreaField(_l("What should the offer contain?"), validators=[DataRequired()])


class EmailForm(ActionForm):
    template_kind = SelectField(
        _l("Template"),
        choices=list(TEMPLATE_KIND_LABELS.items()),
        default="standard",
    )


class SmsForm(ActionForm):
    text = TextAreaField(_l("SMS text"), validators=[DataRequired(), Length(max=1000)])


class RemindForm(ActionForm):
    days = SelectField(
        _l("Remind in"),
        choices=[
            (str(d), lazy_ngettext("in %(num)s day", "in %(num)s days", d)) for d in REMIND_DAYS
        ],
        coerce=int,
        default="10",
    )
    on = DateField(_l("or on"), validators=[Optional()])

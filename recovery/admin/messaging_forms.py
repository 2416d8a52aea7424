"""Forms of the messaging admin pages; every error message names its field."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, Length, NumberRange, Optional, Regexp, ValidationError

from ..messaging import channels, placeholders, sms
from ..messaging.variables import VARIABLE_NAMES
from ..models.message import CHANNEL_PREFERENCE_LABELS, Channel
from ..models.types import DB_INT_MAX

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# Mailjet's SMS sender ("From"): 3 to 11 letters and digits.
SMS_SENDER = r"^[A-Za-z0-9]{3,11}$"
# Twilio's "From": an E.164 number, an alphanumeric sender ID (up to 11 characters,
# at least one letter) or a Messaging Service SID.
TWILIO_SENDER = r"^(\+[1-9]\d{6,14}|(?=[A-Za-z0-9 ]*[A-Za-z])[A-Za-z0-9 ]{1,11}|MG[0-9a-fA-F]{32})$"


def _email(label: str):
    return [
        Optional(),
        Length(max=254, message=_l("%(field)s: at most 254 characters.", field=label)),
        Regexp(EMAIL, message=_l("%(field)s: not an email address.", field=label)),
    ]


def _template_id(label: str):
    return [
        Optional(),
        NumberRange(min=1, message=_l("%(field)s: a positive number.", field=label)),
        # the column holds 32 bits; Mailjet's template ids are far below
        NumberRange(max=DB_INT_MAX, message=_l("%(field)s: the number is too large.", field=label)),
    ]


class CompanyForm(FlaskForm):
    sender_email = StringField(_l("Sender address"), validators=_email(_l("Sender address")))
    sender_name = StringField(
        _l("Sender name"),
        validators=[
            Optional(),
            Length(max=200, message=_l("Sender name: at most 200 characters.")),
        ],
    )
    standard_template_id = IntegerField(
        _l("Standard template ID"), validators=_template_id(_l("Standard template ID"))
    )
    voucher_template_id = IntegerField(
        _l("Voucher template ID"), validators=_template_id(_l("Voucher template ID"))
    )
    offer_email = StringField(
        _l("Address for offer requests"), validators=_email(_l("Address for offer requests"))
    )
    sms_sender = StringField(
        _l("SMS sender"),
        validators=[
            Optional(),
            Regexp(
                SMS_SENDER,
                message=_l("SMS sender: 3 to 11 letters or digits, no spaces or other characters."),
            ),
        ],
    )
    sms_provider = SelectField(_l("SMS provider"))
    twilio_sender = StringField(
        _l("Twilio sender"),
        validators=[
            Optional(),
            Regexp(
                TWILIO_SENDER,
                message=_l(
                    "Twilio sender: a number in international format (+49…), a sender "
                    "name of up to 11 letters or digits, or a Messaging Service SID (MG…)."
                ),
            ),
        ],
    )
    channel_preference = SelectField(
        _l("Channel preference"),
        choices=[(k.value, v) for k, v in CHANNEL_PREFERENCE_LABELS.items()],
    )
    shop_url = StringField(
        _l("Shop URL"),
        validators=[
            Optional(),
            Length(max=500, message=_l("Shop URL: at most 500 characters.")),
            URL(require_tld=False, message=_l("Shop URL: not a web address (https://…).")),
        ],
    )
    error_report_email = StringField(
        _l("Template error reports to"), validators=_email(_l("Template error reports to"))
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sms_provider.choices = [(p.name, p.label) for p in channels.sms_providers()]

    def validate_sms_provider(self, field) -> None:
        # On the provider: the sender's own chain stops early when it is empty.
        if field.data == "twilio" and not (self.twilio_sender.data or "").strip():
            raise ValidationError(_("Twilio sender: needed when Twilio sends the SMS."))

    def validate_standard_template_id(self, field) -> None:
        # The case button sends the standard template: without it nothing can go out.
        if field.data is None and self.sender_email.data:
            raise ValidationError(_("Standard template ID: needed to send emails."))


def _sms_text(label: str):
    def check(form, field) -> None:
        text = field.data or ""
        if not text.strip():
            return
        result = placeholders.check(text)
        if result.unknown:
            raise ValidationError(
                _(
                    "%(field)s: unknown placeholder %(names)s. Known: %(known)s.",
                    field=label,
                    names=", ".join(result.unknown),
                    known=", ".join(VARIABLE_NAMES),
                )
            )
        _body, count = channels.channel(Channel.SMS).preview(text)
        if count.too_long:
            raise ValidationError(
                _(
                    "%(field)s: %(n)s SMS parts with the unsubscribe link; at most %(max)s.",
                    field=label,
                    n=count.segments,
                    max=sms.MAX_SEGMENTS,
                )
            )

    too_long = _l("%(field)s: at most 1000 characters.", field=label)
    return [Optional(), Length(max=1000, message=too_long), check]


def _lf(text: str | None) -> str | None:
    """Browsers send CRLF line breaks; an SMS has one character per break."""
    return text.replace("\r\n", "\n") if text else text


class GroupTextsForm(FlaskForm):
    first_email_template_id = IntegerField(
        _l("First email: template ID"), validators=_template_id(_l("First email: template ID"))
    )
    followup_email_template_id = IntegerField(
        _l("Follow-up email: template ID"),
        validators=_template_id(_l("Follow-up email: template ID")),
    )
    first_sms_text = TextAreaField(
        _l("First SMS"), validators=_sms_text(_l("First SMS")), filters=[_lf]
    )
    followup_sms_text = TextAreaField(
        _l("Follow-up SMS"), validators=_sms_text(_l("Follow-up SMS")), filters=[_lf]
    )


class WorkerSettingsForm(FlaskForm):
    nightly_enabled = BooleanField(_l("Run sync and analysis every night"))
    nightly_hour = SelectField(
        _l("At (hour, business time zone)"),
        choices=[(str(h), f"{h:02d}:00") for h in range(24)],
        coerce=int,
    )

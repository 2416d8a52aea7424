"""Companies (Mandanten/shops) of the business, with their sender and templates."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow

# The Mailjet templates a company has for win-back emails, in the reader's words.
TEMPLATE_KIND_LABELS = {"standard": _l("Standard"), "voucher": _l("Voucher")}


class Company(db.Model):
    __tablename__ = "company"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The name as the source system spells it; orders are matched to it.
    name: Mapped[str] = mapped_column(String(200), unique=True)
    sender_email: Mapped[str | None] = mapped_column(String(254))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    standard_template_id: Mapped[int | None]
    voucher_template_id: Mapped[int | None]
    offer_email: Mapped[str | None] = mapped_column(String(254))
    sms_sender: Mapped[str | None] = mapped_column(String(11))
    # Which registered SMS provider sends this company's SMS (messaging/channels/).
    # Server defaults only: rows written before these columns existed need no change.
    sms_provider: Mapped[str] = mapped_column(String(20), server_default="mailjet_sms")
    # Twilio's "From": an E.164 number, an alphanumeric sender or a Messaging Service SID.
    twilio_sender: Mapped[str | None] = mapped_column(String(34))
    # M4: email, sms, both, sms_else_email (ChannelPreference); "both" keeps both buttons.
    channel_preference: Mapped[str] = mapped_column(String(20), server_default="both")
    shop_url: Mapped[str | None] = mapped_column(String(500))
    # Mailjet mails template errors (TemplateErrorReporting) to this address.
    error_report_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Company {self.name}>"

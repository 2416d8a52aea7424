"""The case page's buttons, one entry each: the case view makes the forms from it, the
action route dispatches by it and the template renders the buttons from it.

A new button is one entry here (with the words for its line in the case history), its
service in ``actions`` (taking the form's fields as keyword arguments and recording an
event of the entry's ``key``), its form in ``forms`` and its fields in
``templates/queue/actions/<key>.html``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from ..models.company import TEMPLATE_KIND_LABELS
from . import actions
from .forms import ActionForm, EmailForm, NoInterestForm, NoteForm, OfferForm, RemindForm, SmsForm

if TYPE_CHECKING:
    from .page import CaseDetails


@dataclass(frozen=True)
class CaseAction:
    name: str  # in the action's URL and in ``?done=`` after it
    form: type[ActionForm]
    service: Callable[..., actions.ActionResult]  # (case, user, token, **form.values())
    flash: LazyString  # shown when it is done
    label: LazyString  # the button's text
    history: LazyString  # the case history's words for the event it records (``key``)
    shortcut: str | None = None  # the key that presses the button (static/js/app.js)
    style: str = "btn"  # the button's classes
    initial: Callable[[CaseDetails], dict] | None = None  # what the form starts with
    adapt: Callable[[ActionForm, CaseDetails], None] | None = None  # e.g. fewer choices

    def make_form(self, details: CaseDetails) -> ActionForm:
        """The form as the case page shows it."""
        form = self.form(**(self.initial(details) if self.initial else {}))
        if self.adapt:
            self.adapt(form, details)
        return form

    @property
    def key(self) -> str:
        """The name as an identifier: the template's ``forms`` key and file name."""
        return self.name.replace("-", "_")


def _offer_templates(form: EmailForm, details: CaseDetails) -> None:
    """Offer only the templates the company of the last order has (all when it has none:
    sending then says which template is missing)."""
    kinds = details.template_kinds
    if kinds:
        form.template_kind.choices = [(k, TEMPLATE_KIND_LABELS[k]) for k in kinds]


# In the order the case page shows them.
CASE_ACTIONS = (
    CaseAction(
        "email", EmailForm, actions.send_email, _l("Email queued."), _l("Send email"),
        _l("sent an email"), shortcut="e", style="btn primary", adapt=_offer_templates,
    ),
    CaseAction(
        "sms", SmsForm, actions.send_sms, _l("SMS queued."), _l("Send SMS"), _l("sent an SMS"),
        initial=lambda details: {"text": details.sms_text},
    ),
    CaseAction(
        "remind", RemindForm, actions.remind, _l("Reminder set."), _l("Remind me"),
        _l("set a reminder"), shortcut="r",
    ),
    CaseAction(
        "offer", OfferForm, actions.request_offer, _l("Offer request sent."), _l("Create offer"),
        _l("requested an offer"),
    ),
    CaseAction(
        "no-interest", NoInterestForm, actions.no_interest, _l("Marked as no interest."),
        _l("No interest"), _l("marked no interest"), style="btn danger",
    ),
    CaseAction(
        "note", NoteForm, actions.add_note, _l("Note saved."), _l("Save note"),
        _l("added a note"),
    ),
)  # fmt: skip
BY_NAME = {action.name: action for action in CASE_ACTIONS}

"""The services behind the case page's buttons (Q4), with claims (Q6) and history (Q7).

Every action runs in one transaction that also inserts a ``CaseEvent`` carrying the
form's one-time token: a resent form hits the unique token and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..messaging import outbox
from ..models import (
    Case,
    CaseEvent,
    CaseStatus,
    CaseViewer,
    Message,
    User,
    business_tz,
    utcnow,
)
from ..models.case import OPEN_STATUSES
from .settings import analysis_settings

REMIND_DAYS = (1, 3, 7, 10, 14, 30, 60, 90)
REMIND_YEARS = 2  # a reminder date lies at most this far ahead


def _years_later(day: date, years: int) -> date:
    """The same day ``years`` later (28 February for a 29th in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


class ActionRefused(Exception):
    """The action cannot be done; the message is shown to the user."""


class AlreadyDone(Exception):
    """The same form was submitted before; nothing was done again."""


@dataclass(frozen=True)
class ActionResult:
    event: CaseEvent
    message_id: int | None = None


def _claim_until(now: datetime, minutes: int | None = None) -> datetime:
    return now + timedelta(minutes=minutes or current_app.config["CLAIM_MINUTES"])


def claim(case: Case, user: User, minutes: int | None = None) -> bool:
    """Claim the case for ``user`` unless someone else holds it; True when claimed.

    Only a POST claims (someone starts an action); viewing a case does not. One
    conditional UPDATE, so two users starting at once cannot both hold it.
    """
    now = utcnow()
    until = _claim_until(now, minutes)
    free = or_(
        Case.claimed_by_id.is_(None), Case.claimed_by_id == user.id, Case.claimed_until < now
    )
    result = db.session.execute(
        update(Case)
        .where(Case.id == case.id, free)
        .values(claimed_by_id=user.id, claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(case)
    return result.rowcount == 1


def take_over(case: Case, user: User, token: str) -> ActionResult:
    """Take the case over from whoever holds it, with one click; recorded in the history
    with the name of the one it was taken from."""
    _must_be_open(case)
    if not token:
        raise ActionRefused(_("The form is missing its one-time token; please reload the page."))
    holder = holder_other_than(case, user)
    if holder is None:
        claim(case, user)
        raise ActionRefused(_("Nobody else is working on this case; it is yours."))
    event = _new_event(
        case, user, "takeover", token, **{"from": holder.name, "from_user_id": holder.id}
    )
    now = utcnow()
    result = db.session.execute(
        update(Case)
        .where(Case.id == case.id, Case.claimed_by_id == holder.id)
        .values(claimed_by_id=user.id, claimed_until=_claim_until(now))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise ActionRefused(_CHANGED())
    return ActionResult(_commit(event))


def _unclaim(case: Case) -> None:
    case.claimed_by_id = None
    case.claimed_until = None


def release(case: Case, user: User) -> None:
    if case.claimed_by_id == user.id:
        _unclaim(case)
        db.session.commit()


# A case page posts a heartbeat every ~30 s while it is visible; a viewer counts as
# present this long after the last one (two heartbeats may be missed).
PRESENCE_SECONDS = 75


def mark_viewing(case: Case, user: User) -> None:
    """Note that ``user`` has the case page open (the page's heartbeat, a POST)."""
    now = utcnow()
    seen = (
        update(CaseViewer)
        .where(CaseViewer.case_id == case.id, CaseViewer.user_id == user.id)
        .values(seen_at=now)
        .execution_options(synchronize_session=False)
    )
    if db.session.execute(seen).rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.add(CaseViewer(case_id=case.id, user_id=user.id, seen_at=now))
        except IntegrityError:  # the same user's other tab was first
            db.session.execute(seen)
    db.session.commit()


def viewers_other_than(case: Case, user: User, now: datetime | None = None) -> list[User]:
    """Who else has the case page open now, by name."""
    since = (now or utcnow()) - timedelta(seconds=PRESENCE_SECONDS)
    rows = db.session.scalars(
        select(User)
        .join(CaseViewer, CaseViewer.user_id == User.id)
        .where(CaseViewer.case_id == case.id, CaseViewer.user_id != user.id)
        .where(CaseViewer.seen_at >= since)
        .order_by(User.name, User.id)
    )
    return list(rows)


def leave(case: Case, user: User) -> None:
    """The user left the case page: no longer present, and their claim is released."""
    db.session.execute(
        CaseViewer.__table__.delete().where(
            CaseViewer.case_id == case.id, CaseViewer.user_id == user.id
        )
    )
    db.session.execute(
        update(Case)
        .where(Case.id == case.id, Case.claimed_by_id == user.id)
        .values(claimed_by_id=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def holder_other_than(case: Case, user: User, now: datetime | None = None) -> User | None:
    now = now or utcnow()
    if case.claimed_by_id and case.claimed_by_id != user.id and case.claimed_until > now:
        return case.claimed_by
    return None


def _must_be_open(case: Case) -> None:
    if not case.is_open:
        raise ActionRefused(_("This case is closed already."))


def _new_event(
    case: Case, user: User, kind: str, token: str, text: str | None = None, **data
) -> CaseEvent:
    """The history entry of an action, flushed at once: its one-time form token is
    unique, so a resent form stops here (AlreadyDone) before any work is done."""
    event = CaseEvent(case=case, user_id=user.id, kind=kind, text=text, data=data, form_token=token)
    db.session.add(event)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise AlreadyDone() from None
    return event


def _record(case: Case, user: User, kind: str, token: str, text=None, **data) -> CaseEvent:
    if not token:
        raise ActionRefused(_("The form is missing its one-time token; please reload the page."))
    now = utcnow()
    holder = holder_other_than(case, user, now)
    if holder is not None:
        raise ActionRefused(_("%(name)s is working on this case right now.", name=holder.name))
    # Acting claims the case (a note keeps it; the actions that move it end the claim).
    case.claimed_by_id = user.id
    case.claimed_until = _claim_until(now)
    event = _new_event(case, user, kind, token, text, **data)
    if case.assigned_user_id is None:
        case.assigned_user_id = user.id  # whoever acts first looks after the customer
    return event


def _CHANGED() -> str:  # noqa: N802 - reads as the message it is
    return _(
        "This case was changed a moment ago (in another window or by someone else); "
        "nothing was done."
    )


def _move(case: Case, **values) -> None:
    """Change the case's state in one conditional UPDATE: only while it is still open
    and in the status this request read. Two clicks that race (two tabs, a double click
    with two forms, two users) both pass the checks in Python, but only the first
    UPDATE finds the case as it was – PostgreSQL makes the second wait for the first's
    row lock and then finds the row changed, SQLite lets one writer at a time – so the
    state changes once and the loser's event, message and all are rolled back.
    """
    result = db.session.execute(
        update(Case)
        .where(Case.id == case.id, Case.status == case.status, Case.closed_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise ActionRefused(_CHANGED())
    for key, value in values.items():
        set_committed_value(case, key, value)


def _commit(event: CaseEvent) -> CaseEvent:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AlreadyDone() from None
    return event


def _send(
    case: Case,
    user: User,
    token: str,
    kind: str,
    status: CaseStatus,
    queue: Callable[[], Message],
    text: str | None = None,
    **data,
) -> ActionResult:
    """Record the action, queue its message (``queue()`` calls the outbox), move the case
    to ``status`` and hand the message over; the outbox's refusal becomes ActionRefused."""
    _must_be_open(case)
    event = _record(case, user, kind, token, text=text, **data)
    try:
        message = queue()
    except outbox.CannotSend as exc:
        db.session.rollback()
        raise ActionRefused(str(exc)) from None
    event.data = {**event.data, "message_id": message.id, "to": message.to_address}
    _move(case, status=status, claimed_by_id=None, claimed_until=None)
    _commit(event)
    outbox.deliver_if_offline(message)
    return ActionResult(event, message.id)


def add_note(case: Case, user: User, token: str, text: str) -> ActionResult:
    text = (text or "").strip()
    if not text:
        raise ActionRefused(_("The note is empty."))
    return ActionResult(_commit(_record(case, user, "note", token, text=text[:5000])))


def no_interest(case: Case, user: User, token: str, text: str = "") -> ActionResult:
    _must_be_open(case)
    now = utcnow()
    days = analysis_settings().no_interest_days
    event = _record(
        case,
        user,
        "no_interest",
        token,
        text=(text or "").strip() or None,
        days=days,
        from_status=case.status,
    )
    _move(
        case,
        status=CaseStatus.NO_INTEREST,
        closed_at=now,
        claimed_by_id=None,
        claimed_until=None,
    )
    case.customer.no_interest_until = now + timedelta(days=days)
    return ActionResult(_commit(event))


UNDO_SECONDS = 10  # how long "undo" is offered after "no interest"
REOPENABLE = (CaseStatus.NO_INTEREST, CaseStatus.CLOSED)


def reopen(case: Case, user: User, token: str) -> ActionResult:
    """Open a closed case again ("undo" right after "no interest" is the same, offered
    for UNDO_SECONDS): back to the status it had before "no interest" (else new), the
    customer's no-interest pause lifted; recorded in the history."""
    if not token:
        raise ActionRefused(_("The form is missing its one-time token; please reload the page."))
    if case.is_open or case.status not in REOPENABLE:
        raise ActionRefused(_("Only a case closed as no interest or closed can be reopened."))
    twin = db.session.scalar(
        select(Case.id).where(
            Case.customer_id == case.customer_id, Case.key == case.key, Case.closed_at.is_(None)
        )
    )
    if twin is not None:
        raise ActionRefused(_("This customer has an open case of this kind already."))
    last = db.session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == "no_interest")
        .order_by(CaseEvent.id.desc())
        .limit(1)
    ).first()
    status = (last.data or {}).get("from_status") if last is not None else None
    status = status if status in OPEN_STATUSES else CaseStatus.NEW
    event = _new_event(case, user, "reopened", token)
    result = db.session.execute(
        update(Case)
        .where(Case.id == case.id, Case.status == case.status, Case.closed_at.is_not(None))
        .values(status=status, closed_at=None, claimed_by_id=user.id,
                claimed_until=_claim_until(utcnow()))
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if result.rowcount != 1:
        db.session.rollback()
        raise ActionRefused(_CHANGED())
    if case.status == CaseStatus.NO_INTEREST:
        case.customer.no_interest_until = None
    try:
        db.session.commit()
    except IntegrityError:  # another open case of this kind appeared meanwhile
        db.session.rollback()
        raise ActionRefused(_("This customer has an open case of this kind already.")) from None
    db.session.refresh(case)
    return ActionResult(event)


def undo_offered(case: Case, user: User, now=None) -> bool:
    """Whether "undo" is offered: ``user`` closed the case as no interest moments ago."""
    if case.status != CaseStatus.NO_INTEREST:
        return False
    last = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc()).limit(1)
    ).first()
    now = now or utcnow()
    return (
        last is not None
        and last.kind == "no_interest"
        and last.user_id == user.id
        and (now - last.created_at).total_seconds() <= UNDO_SECONDS
    )


def remind(case: Case, user: User, token: str, days: int | None, on: date | None) -> ActionResult:
    """Remind in ``days`` (one of REMIND_DAYS) or on the date ``on``, which wins."""
    _must_be_open(case)
    tz = business_tz()
    today = utcnow().astimezone(tz).date()
    if on is None:
        if days not in REMIND_DAYS:
            raise ActionRefused(_("Choose a period or a date for the reminder."))
        on = today + timedelta(days=days)
    if on <= today:
        raise ActionRefused(_("The reminder date must lie in the future."))
    if on > _years_later(today, REMIND_YEARS):
        raise ActionRefused(_("The reminder date may lie at most two years ahead."))
    event = _record(case, user, "remind", token, remind_on=on.isoformat())
    _move(
        case,
        # due from the start of that day in the business's time zone
        remind_at=datetime.combine(on, time.min, tz).astimezone(ZoneInfo("UTC")),
        status=CaseStatus.REMINDER,
        claimed_by_id=None,
        claimed_until=None,
    )
    return ActionResult(_commit(event))


def send_email(case: Case, user: User, token: str, template_kind: str) -> ActionResult:
    return _send(
        case,
        user,
        token,
        "email",
        CaseStatus.CONTACTED,
        lambda: outbox.queue_case_email(case, user, template_kind),
        template_kind=template_kind,
    )


def send_sms(case: Case, user: User, token: str, text: str) -> ActionResult:
    return _send(
        case,
        user,
        token,
        "sms",
        CaseStatus.CONTACTED,
        lambda: outbox.queue_case_sms(case, user, text),
        text=(text or "").strip()[:1000],
    )


def request_offer(case: Case, user: User, token: str, text: str) -> ActionResult:
    text = (text or "").strip()
    if not text:
        raise ActionRefused(_("Describe the offer to prepare."))
    return _send(
        case,
        user,
        token,
        "offer",
        CaseStatus.OFFER_REQUESTED,
        lambda: outbox.queue_offer_request(case, user, text),
        text=text[:5000],
    )

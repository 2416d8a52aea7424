"""Labels and helpers the templates share (status names, tiles, reasons)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Flask, url_for
from flask_babel import format_decimal, get_locale, gettext
from flask_babel import lazy_gettext as _l
from jinja2 import pass_context

from . import formatting
from .cases.action_table import CASE_ACTIONS
from .models import (
    CHANNEL_LABELS,
    JOB_LABELS,
    KIND_LABELS,
    MESSAGE_STATE_LABELS,
    PURPOSE_LABELS,
    STATUS_LABELS,
    TEMPLATE_KIND_LABELS,
    business_tz,
)
from .models.group import MEMBER_SOURCE_LABELS, SUBSCRIPTION_STATUS_LABELS
from .models.reconnect import FOLLOWUP_SKIP_LABELS
from .sources.texts import said


def url_around(endpoint: str, key: str, **values) -> tuple[str, str]:
    """The URL of ``endpoint`` around the value of ``key`` (a row's id): (before, after).

    A list links 50 pages that differ only in that id; building the URL once and joining
    each id in saves ``url_for``'s routing work per row.
    """
    marker = 987654321
    url = url_for(endpoint, **values, **{key: marker})
    before, after = url.split(str(marker), 1)
    return before, after


TILE_LABELS = {
    "decline": _l("Revenue decline"),
    "reminders": _l("Reminders due"),
    "contacted": _l("Contacted"),
    "offer": _l("Offer requested"),
    "no_interest": _l("No interest"),
    "recovered": _l("Recovered"),
}
ORDER_STATE_LABELS = {
    "open": _l("open"),
    "completed": _l("completed"),
    "cancelled": _l("cancelled"),
    "returned": _l("returned"),
}
# The case history's words: the buttons' events from the action table, and the rest.
EVENT_LABELS = {
    **{action.key: action.history for action in CASE_ACTIONS},
    "takeover": _l("took over the case"),
    "opened": _l("case opened"),
    "reopened": _l("reopened the case"),
    "recovered": _l("customer ordered again"),
    "closed": _l("case closed"),
    "opened_email": _l("opened the email"),
    "clicked": _l("clicked a link"),
    "reminder_due": _l("reminder due"),
    "reconnect_first": _l("ReConnect: first message queued"),
    "reconnect_followup": _l("ReConnect: follow-up queued"),
    "reconnect_skipped": _l("ReConnect: follow-up not sent"),
    "reconnect_held": _l("ReConnect: follow-up held back by the marketing cap"),
    "reconnected": _l("ReConnect: reconnected by an order"),
    "reconnect_cancelled": _l("ReConnect: message not sent"),
    "marketing_held": _l("held back by the marketing cap"),
    "email_bounced": _l("email bounced"),
    "email_blocked": _l("email blocked by Mailjet"),
    "spam_complaint": _l("marked the email as spam"),
    "unsubscribed": _l("unsubscribed"),
}


# The analysis settings' sections and the backtest's rules: one per case kind, and more.
STREAM_LABELS = {"customers": _l("Customers"), "orders": _l("Orders")}
LINK_LABELS = {
    "customer_url": _l("Customer page"),
    "order_url": _l("Order page"),
    "product_url": _l("Product page"),
}
SECTION_LABELS = {
    **KIND_LABELS,
    "season": _l("Seasonal customers"),
    "model": _l("Churn model"),
    "exclusions": _l("Exclusions"),
    "general": _l("General"),
}
CHOICE_LABELS = {
    "previous_period": _l("the period before"),
    "same_period_last_year": _l("the same period last year"),
    "net": _l("net"),
    "gross": _l("gross"),
}
RULE_LABELS = {
    **KIND_LABELS,
    "model": _l("Churn probability ≥ 50 %"),
    "any_flag": _l("Marked by the analysis"),
}
# The churn models recovery.analysis.clv chooses among, and its fallback (``model`` in
# its result).
MODEL_LABELS = {
    "renewal": _l("Renewal model (rhythm)"),
    "bgnbd": _l("BG/NBD"),
    "mbgnbd": _l("MBG/NBD"),
    "rhythm": _l("Rhythm (fallback)"),
    "blend": _l("Mean of the models"),
}

# The revenue rankings the backtest compares (recovery.analysis.backtesting.RANKINGS).
RANKING_LABELS = {
    "expected_revenue": _l("Expected revenue"),
    "revenue_at_risk": _l("Revenue at risk"),
    "past_revenue": _l("Revenue of the last 12 months"),
    "bgnbd_gg": _l("BG/NBD × Gamma-Gamma"),
}
CALIBRATOR_LABELS = {
    "isotonic": _l("isotonic"),
    "platt": _l("Platt"),
    "scaling": _l("scaling"),
}
# A churn probability in plain words: the band is the first whose lower bound it reaches.
CHURN_BANDS = (
    ("very_likely", 0.8, _l("very likely")),
    ("likely", 0.5, _l("likely")),
    ("uncertain", 0.0, _l("uncertain")),
)
CHURN_BAND_LABELS = {key: text for key, _low, text in CHURN_BANDS}
CERTAINTY = 0.01  # no probability is shown closer than this to 0 % or 100 %
PROBABILITY_EDGES = {"over": _l("over 99 %"), "under": _l("under 1 %")}


def churn_band(p: float | None) -> str | None:
    """The key of the plain-words band of a churn probability (None when unknown)."""
    if p is None or p != p:
        return None
    return next(key for key, low, _text in CHURN_BANDS if p >= low)


def probability(p: float | None, locale: str | None = None) -> str:
    """A probability that never claims certainty: "über 99 %", "unter 1 %", else "87,5 %"."""
    if p is None or p != p:
        return "–"
    if p > 1 - CERTAINTY:
        return label(PROBABILITY_EDGES, "over", locale)
    if p < CERTAINTY:
        return label(PROBABILITY_EDGES, "under", locale)
    numbers = formatting.number_format(locale or locale_code())
    return numbers.decimal(min(max(p * 100, 1.0), 99.0), 1, 1) + " %"


# The admin pages, in the order of the admin menu and the admin home tiles.
ADMIN_PAGES = (
    ("admin.connectors", _l("Connectors"),
     _l("Where customers and orders come from; sync log.")),
    ("admin.outbox", _l("Outbox and message log"),
     _l("Every message the app created, with its state.")),
    ("admin.jobs", _l("Job runs"),
     _l("Syncs, analyses and the nightly run, with progress.")),
    ("admin.companies", _l("Companies"),
     _l("Sender, Mailjet templates and offer address per company.")),
    ("admin.product_groups", _l("Texts per product group"),
     _l("First and follow-up messages per product group.")),
    ("admin.newsletters", _l("Newsletters"),
     _l("Newsletters of the groups: double opt-in, sign-up form, subscribers.")),
    ("admin.users", _l("Users"),
     _l("Logins of your team: roles, company restriction, passwords.")),
    ("admin.action_log", _l("Action log"),
     _l("Who did what and when, by user and date.")),
    ("admin.analysis_settings_page", _l("Analysis settings"),
     _l("The rules that put customers on the list.")),
    ("admin.backtest_page", _l("Backtest"),
     _l("How well the rules would have predicted the past.")),
)  # fmt: skip


def locale_code() -> str:
    return str(get_locale() or "de")


_translated: dict[tuple[str, int, str], str] = {}


def label(labels: dict, key: str, locale: str | None = None) -> str:
    """``labels[key]`` in the reader's language (the key itself if unknown).

    A list page shows a label per row; translating a lazy string each time costs more
    than the rest of the cell, so each (language, table, key) is translated once.
    """
    cache_key = (locale or locale_code(), id(labels), key)
    text = _translated.get(cache_key)
    if text is None:
        text = _translated[cache_key] = str(labels.get(key, key))
    return text


def case_reason(case, locale: str | None = None) -> str:
    """The reason in the reader's language, from the numbers stored with the case."""
    from .analysis import explain

    if case.reason_key:
        try:
            return explain(case.reason_key, case.reason_params or {}, locale or locale_code())
        except (KeyError, ValueError):
            pass
    return case.reason_text or ""


def case_reasons(cases, locale: str) -> list[str]:
    """``case_reason`` of many cases (or rows with the same fields), rendered in bulk."""
    from .analysis import explain_many

    keyed = [i for i, case in enumerate(cases) if case.reason_key]
    texts = [case.reason_text or "" for case in cases]
    try:
        rendered = explain_many(
            [(cases[i].reason_key, cases[i].reason_params or {}) for i in keyed], locale
        )
    except (KeyError, ValueError):  # an odd reason among them: each on its own
        rendered = [case_reason(cases[i], locale) for i in keyed]
    for i, text in zip(keyed, rendered, strict=True):
        texts[i] = text
    return texts


def event_label(event) -> str:
    label = str(EVENT_LABELS.get(event.kind, event.kind))
    if event.kind == "remind" and event.data.get("remind_on"):
        on = date.fromisoformat(event.data["remind_on"])
        label += " " + formatting.day(on, locale_code(), UTC)
    if event.kind == "marketing_held" and event.data.get("until"):
        until = datetime.fromisoformat(event.data["until"])
        day = formatting.day(until, locale_code(), business_tz())
        return gettext("held back by the marketing cap until %(day)s", day=day)
    if event.kind == "takeover" and event.data.get("from"):
        return gettext("took over the case from %(name)s", name=event.data["from"])
    if event.kind in ("reconnect_skipped", "reconnect_cancelled") and event.data.get("reason"):
        reason = event.data["reason"]
        label += f" ({FOLLOWUP_SKIP_LABELS.get(reason, reason)})"
    if event.kind == "email" and event.data.get("template_kind"):
        kind = event.data["template_kind"]
        label += f" ({TEMPLATE_KIND_LABELS.get(kind, kind)})"
    return label


def job_label(text: str | None) -> str:
    """A job's state or the step it reports, in the reader's words."""
    return str(JOB_LABELS.get(text or "", text or ""))


def row_reason(error: dict) -> str:
    """Why a row of a file was refused, in the reader's language (the connector's English
    where it gave no template)."""
    if error.get("message"):
        return said(error["message"])
    template = error.get("template")  # jobs stored before messages had nested values
    return gettext(template, **error.get("params", {})) if template else error["reason"]


def job_error(job) -> str:
    """Why a job failed, in the reader's language where the job kept the message."""
    message = (job.result or {}).get("error_message")
    return said(message) if message else (job.error or "")


def run_error(run) -> tuple[str, list[str]]:
    """A failed sync run's message and its refused rows, in the reader's language (the
    stored English text for runs logged before messages were kept)."""
    detail = run.error_detail or {}
    if not detail.get("message"):
        lines = (run.error or "").splitlines()
        return (lines[0] if lines else ""), lines[1:]
    rows = [
        gettext(
            "row %(row)s, column %(column)s: %(reason)s",
            row=e["row"],
            column=e["column"],
            reason=row_reason(e),
        )
        if e.get("column")  # a reason about the whole row (a NUL byte, no rows) has none
        else gettext("row %(row)s: %(reason)s", row=e["row"], reason=row_reason(e))
        for e in detail.get("errors") or []
    ]
    return said(detail["message"]), rows


def stream_rows(rows: dict[str, int] | None) -> str:
    """``{"customers": 3, "orders": 5}`` as "Customers 3 · Orders 5" in the user's words."""
    return " · ".join(
        f"{STREAM_LABELS.get(k, k)} {format_decimal(v)}" for k, v in (rows or {}).items()
    )


def init_app(app: Flask) -> None:
    from .messaging.alert import current as sending_warning
    from .messaging.outbox import offline

    app.jinja_env.globals.update(
        current_locale=locale_code,
        mail_offline=offline,
        sending_warning=sending_warning,
        tile_labels=lambda: list(TILE_LABELS.items()),
        tile_label=pass_context(lambda ctx, key: label(TILE_LABELS, key, ctx.get("_locale"))),
        status_label=pass_context(lambda ctx, s: label(STATUS_LABELS, s, ctx.get("_locale"))),
        order_state_label=pass_context(
            lambda ctx, s: label(ORDER_STATE_LABELS, s, ctx.get("_locale"))
        ),
        event_label=event_label,
        case_reason=case_reason,
        section_label=lambda key: str(SECTION_LABELS.get(key, key)),
        choice_label=lambda key: str(CHOICE_LABELS.get(key, key)),
        rule_label=lambda key: str(RULE_LABELS.get(key, key)),
        model_label=lambda key: str(MODEL_LABELS.get(key, key)),
        ranking_label=lambda key: str(RANKING_LABELS.get(key, key)),
        calibrator_label=lambda key: str(CALIBRATOR_LABELS.get(key, key)),
        churn_band=pass_context(
            lambda ctx, p: label(CHURN_BAND_LABELS, churn_band(p), ctx.get("_locale"))
            if churn_band(p)
            else "–"
        ),
        job_label=job_label,
        message_state_label=lambda s: str(MESSAGE_STATE_LABELS.get(s, s)),
        channel_label=lambda c: str(CHANNEL_LABELS.get(c, c)),
        purpose_label=lambda p: str(PURPOSE_LABELS.get(p, p)),
        member_source_label=lambda s: str(MEMBER_SOURCE_LABELS.get(s, s)),
        subscription_label=lambda s: str(SUBSCRIPTION_STATUS_LABELS.get(s, s)),
        stream_rows=stream_rows,
        row_reason=row_reason,
        job_error=job_error,
        run_error=run_error,
        admin_pages=ADMIN_PAGES,
    )
    app.jinja_env.filters["probability"] = pass_context(
        lambda ctx, p: probability(p, ctx.get("_locale"))
    )
    app.jinja_env.filters["month"] = pass_context(
        lambda ctx, d: formatting.month(d, ctx.get("_locale") or locale_code())
    )
    app.jinja_env.filters["month_name"] = pass_context(
        lambda ctx, d: formatting.month_name(d, ctx.get("_locale") or locale_code())
    )

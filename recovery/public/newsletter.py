"""The public newsletter pages (G2): the sign-up form per newsletter – with the
business's header and footer, or bare for an iframe (``?embed=1``) – and the
confirmation link. No login; the form carries a signed, time-stamped token instead of
the session's CSRF token (docs/newsletters.md)."""

from __future__ import annotations

import re
from contextlib import nullcontext

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import csrf, db
from ..models import Newsletter
from ..newsletters import signup, tokens
from . import bp

HONEYPOT = "homepage"
PUBLIC_KEY = re.compile(r"[A-Za-z0-9_-]{1,32}")
# The bare form may be framed by the merchant's own site; the framed pages are ours only.
EMBED_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors *"
)


def _newsletter(key: str) -> Newsletter:
    if not PUBLIC_KEY.fullmatch(key):  # no crafted text (a NUL byte) reaches the database
        abort(404)
    newsletter = db.session.scalar(select(Newsletter).where(Newsletter.public_key == key))
    return newsletter if newsletter is not None else abort(404)


def _locale() -> str | None:
    """``?lang=de|en`` fixes the form's language (the merchant's page knows its own)."""
    lang = request.args.get("lang")
    return lang if lang in current_app.config["LANGUAGES"] else None


def _page(template: str, status: int = 200, **context):
    embed = request.args.get("embed") == "1"
    lang = _locale()
    with force_locale(lang) if lang else nullcontext():
        html = render_template(template, embed=embed, lang=lang, **context)
    headers = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    if embed:
        headers["Content-Security-Policy"] = EMBED_CSP
    return html, status, headers


def _form_page(
    newsletter: Newsletter, status: int = 200, entries=None, errors=None, note=None, kind=None
):
    if not newsletter.group.active:
        return _page("public/newsletter_closed.html", 410, newsletter=newsletter)
    secret = current_app.config["SECRET_KEY"]
    return _page(
        "public/newsletter_form.html",
        status,
        newsletter=newsletter,
        fields=newsletter.form_fields or {},
        token=tokens.make_form_token(secret, newsletter.id),
        entries=entries or {},
        errors=errors or {},
        note=note,
        consent_text=lambda: signup.consent_text(newsletter),
        honeypot=HONEYPOT,
        # which form the person used, kept when our page shows the snippet's entries again
        kind=kind if kind in signup.FORMS else None,
        salutations=signup.SALUTATION_LABELS,
    )


@bp.get("/newsletter/<key>", endpoint="newsletter_form")
def newsletter_form(key: str):
    return _form_page(_newsletter(key))


@bp.post("/newsletter/<key>")
@csrf.exempt  # an embedded form cannot carry our session's token; it carries its own
def newsletter_signup(key: str):
    newsletter = _newsletter(key)
    form = request.form
    shown = newsletter.form_fields or {}
    entries = {
        name: form.get(name, "")[:300] if name == "email" or shown.get(name) else ""
        for name in ("email", "first_name", "last_name", "salutation")
    }
    token = form.get("form_token", "")
    if not token:  # the plain HTML snippet: its entries again, with a token of ours
        note = _("Please check your details and confirm your sign-up.")
        return _form_page(newsletter, entries=entries, note=note, kind=form.get("form"))
    try:
        tokens.check_form_token(current_app.config["SECRET_KEY"], token, newsletter.id)
    except tokens.InvalidToken:
        note = _("The form was open too long. Please send it again.")
        return _form_page(newsletter, 400, entries=entries, note=note, kind=form.get("form"))
    lang = _locale()
    data = signup.Signup(
        email=entries["email"],
        first_name=entries["first_name"],
        last_name=entries["last_name"],
        salutation=entries["salutation"],
        honeypot=form.get(HONEYPOT, ""),
        form=_kind(form.get("form")),
        ip=request.remote_addr or "-",
        locale=lang or _current_locale(),
    )
    try:
        signup.sign_up(newsletter, data)
    except signup.InvalidSignup as exc:
        note = _("Please correct the marked fields.")
        return _form_page(
            newsletter, 400, entries=entries, errors=exc.errors, note=note, kind=data.form
        )
    except signup.TooManySignups as exc:
        html, _status, headers = _page("public/newsletter_busy.html", newsletter=newsletter)
        return html, 429, {**headers, "Retry-After": str(exc.retry_after)}
    except signup.ClosedNewsletter:
        return _page("public/newsletter_closed.html", 410, newsletter=newsletter)
    args = {k: v for k, v in (("embed", request.args.get("embed")), ("lang", lang)) if v}
    return redirect(url_for("public.newsletter_thanks", key=key, **args), 303)


def _kind(posted: str | None) -> str:
    """Which form the post came from (consent proof); our own variants when unknown."""
    if posted in signup.FORMS:
        return posted
    return "embed" if request.args.get("embed") == "1" else "page"


def _current_locale() -> str:
    return str(get_locale() or "de")


@bp.get("/newsletter/<key>/thanks", endpoint="newsletter_thanks")
def newsletter_thanks(key: str):
    newsletter = _newsletter(key)
    return _page("public/newsletter_thanks.html", newsletter=newsletter)


@bp.route("/newsletter/confirm/<token>", methods=["GET", "POST"], endpoint="newsletter_confirm")
@csrf.exempt  # the signed link is the token, as for the unsubscribe link
def newsletter_confirm(token: str):
    """GET (and HEAD) show one button; only its POST confirms: mail scanners open links,
    and a scanner must not give consent in the person's name."""
    try:
        sub = signup.read_link(token)
    except signup.ExpiredLink as exc:
        with force_locale(_locale() or _current_locale()):
            html = render_template(
                "public/newsletter_expired.html", embed=False, newsletter=exc.newsletter
            )
        return html, 410, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    except signup.InvalidLink:
        abort(404)
    done = False
    if request.method == "POST":
        try:
            done = signup.confirm(sub, request.remote_addr or "-")
        except signup.ClosedNewsletter:
            return _page("public/newsletter_closed.html", 410, newsletter=sub.newsletter)
    with force_locale(sub.customer.locale or "de"):
        html = render_template(
            "public/newsletter_confirm.html",
            embed=False,
            newsletter=sub.newsletter,
            confirmed=sub.status == "confirmed",
            done=done,
        )
    return html, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}

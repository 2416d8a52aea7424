"""German and English UI: locale per user, business time zone, money and dates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import Flask, current_app, request, session
from flask_babel import format_datetime, get_locale, get_timezone, get_translations
from flask_login import current_user
from jinja2 import pass_context

from . import formatting
from .extensions import babel


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    # Anonymous visitors: German unless the browser clearly prefers English.
    best = request.accept_languages.best_match(languages) if request else None
    return best or current_app.config["BABEL_DEFAULT_LOCALE"]


# The filters below run a few hundred times per list page: they format through
# recovery.formatting (Babel's output, without Babel's cost per call), and in templates
# they read the language and time zone that ``render_context`` put into the template's
# context once per rendering, instead of asking Flask-Babel each time.


def _locale() -> str:
    return str(get_locale() or "de")


def render_context() -> dict[str, object]:
    """Template variables read by the filters (and ui's labels) on every call."""
    return {"_locale": _locale(), "_tz": get_timezone()}


_translated: dict[tuple[str, str], str] = {}


@pass_context
def _template_gettext(ctx, message: str) -> str:
    key = (ctx.get("_locale") or _locale(), message)
    text = _translated.get(key)
    if text is None:
        text = _translated[key] = get_translations().ugettext(message)
    return text


def money(value: Decimal | float | int | None, currency: str = "EUR", locale=None) -> str:
    if value is None:
        return "–"
    return formatting.number_format(locale or _locale(), currency).money(value)


def percent(value: float | None, locale: str | None = None) -> str:
    if value is None:
        return "–"
    return formatting.number_format(locale or _locale()).decimal(value, 1, 1) + " %"


def number(
    value: Decimal | float | int | None, locale: str | None = None, places: int | None = None
) -> str:
    """Up to three decimals ("1.234,5"), or exactly ``places`` of them ("0,880")."""
    if value is None:
        return "–"
    numbers = formatting.number_format(locale or _locale())
    return numbers.decimal(value) if places is None else numbers.decimal(value, places, places)


def day(value: date | datetime | None, locale: str | None = None, tz=None) -> str:
    """dd.mm.yyyy in German, "Mar 5, 2026" in English; datetimes on their local day."""
    if value is None:
        return "–"
    return formatting.day(value, locale or _locale(), tz or get_timezone())


def moment(value: datetime | None) -> str:
    if value is None:
        return "–"
    # to the minute in both languages (Babel's "medium" has seconds in English)
    return format_datetime(value, "dd.MM.yyyy HH:mm" if _is_de() else "MMM d, yyyy, h:mm a")


def _is_de() -> bool:
    return _locale().startswith("de")


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.context_processor(render_context)
    # Templates translate some 40 strings per page; the catalogue does not change while
    # the app runs, so each (language, text) is looked up once.
    app.jinja_env.install_gettext_callables(
        gettext=_template_gettext,
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.filters.update(
        money=pass_context(lambda ctx, v, currency="EUR": money(v, currency, ctx.get("_locale"))),
        percent=pass_context(lambda ctx, v: percent(v, ctx.get("_locale"))),
        number=pass_context(lambda ctx, v, places=None: number(v, ctx.get("_locale"), places)),
        day=pass_context(lambda ctx, v: day(v, ctx.get("_locale"), ctx.get("_tz"))),
        moment=moment,
        country=pass_context(
            lambda ctx, code: formatting.country_name(code, ctx.get("_locale") or "de")
        ),
    )
    app.jinja_env.add_extension("jinja2.ext.do")

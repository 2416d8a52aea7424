"""German and English UI: locale per user, business time zone, money and dates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import Flask, current_app, request, session
from flask_babel import format_currency, format_date, format_datetime, format_decimal
from flask_login import current_user

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


def money(value: Decimal | float | int | None, currency: str = "EUR") -> str:
    if value is None:
        return "–"
    return format_currency(value, currency)


def percent(value: float | None) -> str:
    if value is None:
        return "–"
    return format_decimal(value, format="#,##0.0") + " %"


def day(value: date | datetime | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return format_datetime(value, "dd.MM.yyyy") if _is_de() else format_date(value, "medium")
    return format_date(value, "dd.MM.yyyy") if _is_de() else format_date(value, "medium")


def moment(value: datetime | None) -> str:
    if value is None:
        return "–"
    return format_datetime(value, "dd.MM.yyyy HH:mm" if _is_de() else "medium")


def _is_de() -> bool:
    from flask_babel import get_locale

    return str(get_locale()).startswith("de")


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters.update(money=money, percent=percent, day=day, moment=moment)
    app.jinja_env.add_extension("jinja2.ext.do")

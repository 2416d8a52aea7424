"""Placeholders in local texts (SMS, offer notification, previews), PRODUCT.md M2.

Both spellings work, with or without a fallback, and spaces inside are allowed:
``{{var:vorname:"Kundin"}}``, ``{{var:vorname}}``, ``<<var:vorname:"Kundin">>``,
``<<var:vorname>>``. As in Mailjet, the fallback is used when the variable has no
value; without a fallback the placeholder becomes empty.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .variables import VARIABLE_NAMES

_INNER = r'\s*var\s*:\s*(?P<name{n}>[A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*"(?P<fallback{n}>[^"]*)"\s*)?'
PLACEHOLDER = re.compile(
    r"\{\{" + _INNER.format(n=1) + r"\}\}" + "|" + "<<" + _INNER.format(n=2) + ">>"
)


@dataclass(frozen=True, slots=True)
class PlaceholderCheck:
    """What a text uses, for the template editor's validation message."""

    used: tuple[str, ...]
    unknown: tuple[str, ...]
    without_fallback: tuple[str, ...]


def render(text: str, values: Mapping[str, str], *, html: bool = False) -> str:
    """Replace every placeholder; with ``html=True`` the values are HTML-escaped.

    The fallback is part of the text's author's template and is inserted as written.
    """

    def replace(match: re.Match[str]) -> str:
        name, fallback = _parts(match)
        value = values.get(name)
        if value:
            return html_lib.escape(str(value)) if html else str(value)
        return fallback or ""

    return PLACEHOLDER.sub(replace, text)


def names_used(text: str) -> tuple[str, ...]:
    """The variable names a text uses, each once, in order of appearance."""
    return tuple(dict.fromkeys(_parts(m)[0] for m in PLACEHOLDER.finditer(text)))


def check(text: str, known: Iterable[str] = VARIABLE_NAMES) -> PlaceholderCheck:
    known_names = set(known)
    used = names_used(text)
    bare = dict.fromkeys(
        name for name, fallback in map(_parts, PLACEHOLDER.finditer(text)) if fallback is None
    )
    return PlaceholderCheck(
        used=used,
        unknown=tuple(n for n in used if n not in known_names),
        without_fallback=tuple(bare),
    )


def _parts(match: re.Match[str]) -> tuple[str, str | None]:
    if match.group("name1") is not None:
        return match.group("name1"), match.group("fallback1")
    return match.group("name2"), match.group("fallback2")

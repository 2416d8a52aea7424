"""Countries as ISO 3166-1 alpha-2 codes, from the codes themselves or the names merchants
write: Babel's (CLDR's) territory names in German and English, compared without case,
accents or punctuation ("Österreich", "Oesterreich", "österreich", "Austria" → ``AT``).

Besides CLDR's names, two one-letter codes that German address data uses for the
neighbours (the international vehicle codes on letters, "D-50667 Köln", "A-1010 Wien")
are recognised: ``D`` and ``A``. ``CH`` is the ISO code already.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from babel import Locale

NAME_LOCALES = ("de", "en")
_SHORT = {"d": "DE", "a": "AT"}  # vehicle codes in German addresses, see above
# Two-letter territories that are no country: CLDR's groupings (EU, euro area, UN) and
# ISO's user-assigned codes (AA, QM–QZ, XA–XZ, ZZ), which CLDR uses for pseudo-regions.
_GROUPINGS = {"EU", "EZ", "UN"}
_USER_ASSIGNED = re.compile(r"AA|Q[M-Z]|X[A-Z]|ZZ")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def _key(text: str) -> str:
    """``text`` without case, umlauts (as ae/oe/ue), accents and anything but letters."""
    text = unicodedata.normalize("NFKD", text.casefold().translate(_UMLAUTS))
    return "".join(c for c in text if c.isalnum() and not unicodedata.combining(c))


def _is_country(code: str) -> bool:
    return (
        len(code) == 2
        and code.isalpha()
        and code not in _GROUPINGS
        and not _USER_ASSIGNED.fullmatch(code)
    )


@lru_cache(maxsize=1)
def _codes() -> dict[str, str]:
    codes = {_key(code): code for code in Locale("en").territories if _is_country(code)}
    for locale in NAME_LOCALES:
        for code, name in Locale(locale).territories.items():
            if _is_country(code):
                codes.setdefault(_key(name), code)
    codes.update(_SHORT)
    return codes


def country_code(text: str | None) -> str | None:
    """The ISO code of a country code or German or English name; None if not one."""
    key = _key(text or "")
    return _codes().get(key) if key else None

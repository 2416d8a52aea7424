"""A source's salutation ("Herr", "Frau", "Firma", Shopware's ``mrs`` …) as our code.

The codes are ``mr``, ``ms``, ``company`` (a business, addressed as such) and ``diverse``;
a value we do not recognise (a title alone, "Keine Angabe", ``not_specified``) gives
None: the message then addresses the person by name, without a guessed form.
"""

from __future__ import annotations

import re

SALUTATIONS = ("mr", "ms", "company", "diverse")
_WORDS = {
    "mr": ("herr", "herrn", "mr", "mister", "sir", "monsieur"),
    "ms": ("frau", "mrs", "ms", "miss", "madame"),
    "company": ("firma", "fa", "company", "firm", "business"),
    "diverse": ("divers", "diverse", "mx"),
}
_CODE = {word: code for code, words in _WORDS.items() for word in words}
_FIRST_WORD = re.compile(r"[a-zäöüß]+")


def salutation_code(value: str | None) -> str | None:
    """``"Herr Dr."`` -> ``"mr"``; ``"Frau"`` -> ``"ms"``; unknown or empty -> None."""
    found = _FIRST_WORD.search((value or "").casefold())
    return _CODE.get(found.group()) if found else None

"""The salutation of a serial message, built from the customer data (PRODUCT.md G4).

In the customer's language (German unless the customer's locale is English), without
the request's locale: the worker writes it. What is known decides the shape:

========================  ================================  ==========================
data                      formal                            informal
========================  ================================  ==========================
"ms" + last name          Sehr geehrte Frau Schäfer         Hallo Anna (first name)
"mr" + last name          Sehr geehrter Herr Krause         Hallo Jan
name, no salutation       Guten Tag Anna Schäfer            Hallo Anna
"company" (Anrede Firma)  Sehr geehrte Damen und Herren     Hallo Anna / Hallo
company, no person        Sehr geehrte Damen und Herren     Hallo
nothing                   Guten Tag                         Hallo
========================  ================================  ==========================

The customer's salutation comes from the source system ("Herr", "Frau", "Firma",
"Divers" as codes, wawi_connectors.salutations) or from a sign-up form; where none is
known, or it is "diverse", the neutral "Guten Tag Anna Schäfer" is used rather than a
guessed gender.
"""

from __future__ import annotations

from dataclasses import dataclass

_WORDS = {
    "de": {
        "ms": "Sehr geehrte Frau {last}",
        "mr": "Sehr geehrter Herr {last}",
        "person": "Guten Tag {name}",
        "company": "Sehr geehrte Damen und Herren",
        "nobody": "Guten Tag",
        "informal": "Hallo {first}",
        "informal_nobody": "Hallo",
    },
    "en": {
        "ms": "Dear Ms {last}",
        "mr": "Dear Mr {last}",
        "person": "Dear {name}",
        "company": "Dear Sir or Madam",
        "nobody": "Hello",
        "informal": "Hello {first}",
        "informal_nobody": "Hello",
    },
}


@dataclass(frozen=True, slots=True)
class Addressee:
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    salutation: str | None = None  # "ms", "mr", "company", "diverse" or None
    locale: str | None = "de"


def salutation(person: Addressee, mode: str) -> str:
    """The salutation without punctuation, or "" for mode ``none``."""
    if mode == "none":
        return ""
    words = _WORDS["en" if (person.locale or "").startswith("en") else "de"]
    first, last = _clean(person.first_name), _clean(person.last_name)
    if mode == "informal":
        return words["informal"].format(first=first) if first else words["informal_nobody"]
    if mode != "formal":
        raise ValueError(f"unknown salutation mode {mode!r}")
    if last and person.salutation in ("ms", "mr"):
        return words[person.salutation].format(last=last)
    if person.salutation == "company":
        return words["company"]
    name = " ".join(p for p in (first, last) if p)
    if name:
        return words["person"].format(name=name)
    if _clean(person.company_name):
        return words["company"]
    return words["nobody"]


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())

"""Customer master data for the demo: names, firm names, cities, e-mail and phone numbers.

E-mail addresses only use reserved example domains, so a demo can never mail a real person.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass
from itertools import accumulate

from . import data

SHARE_WITHOUT_EMAIL = 0.08
SHARE_WITHOUT_MOBILE = 0.35
SHARE_WITHOUT_CONSENT = 0.20
SHARE_PRIVATE_WITH_PHONE = 0.65

_TRANSLIT = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i", "ł": "l", "đ": "d", "ø": "o"}
)
_LEGAL_FORMS = re.compile(r"\b(gmbh & co\. kg|ggmbh|gmbh|e\.k\.|e\.v\.|eg|kg|ohg)(?=\s|$)")


@dataclass(slots=True)
class Person:
    first_name: str
    last_name: str
    firm: str
    email: str
    phone: str
    mobile: str
    city: str
    country: str
    newsletter: bool


def ascii_slug(text: str, sep: str = "") -> str:
    """``'Gärtnerei Öztürk'`` -> ``'gaertnerei-oeztuerk'`` (with ``sep='-'``)."""
    text = unicodedata.normalize("NFKD", text.lower().translate(_TRANSLIT))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    words = re.findall(r"[a-z0-9]+", text)
    return sep.join(words)


def _digits(rnd: random.Random, n: int) -> str:
    return str(rnd.randint(2, 9)) + "".join(str(rnd.randint(0, 9)) for _ in range(n - 1))


def _landline(rnd: random.Random, country: str, code: str) -> str:
    cc = data.COUNTRY_CODES[country]
    area = code[1:]
    if country == "CH":
        s = _digits(rnd, 7)
        sub = f"{s[:3]} {s[3:5]} {s[5:]}"
        return rnd.choice((f"{code} {sub}", f"+{cc} {area} {sub}"))
    if country == "AT":
        sub = _digits(rnd, {1: 7, 3: 6}.get(len(area), 5))
        return rnd.choice((f"{code} {sub}", f"+{cc} {area} {sub}", f"{code}/{sub}"))
    sub = _digits(rnd, rnd.randint(9, 10) - len(area))
    return rnd.choice(
        (
            f"{code} {sub}",
            f"{code} {sub}",
            f"{code}/{sub}",
            f"{code}-{sub}",
            f"+{cc} {area} {sub}",
            f"+{cc} {area} {sub}",
        )
    )


def _mobile(rnd: random.Random, country: str) -> str:
    cc = data.COUNTRY_CODES[country]
    prefix = rnd.choice(data.MOBILE_PREFIXES[country])
    net = prefix[1:]
    if country == "CH":
        s = _digits(rnd, 7)
        sub = f"{s[:3]} {s[3:5]} {s[5:]}"
        return rnd.choice((f"{prefix} {sub}", f"+{cc} {net} {sub}"))
    if country == "AT":
        sub = _digits(rnd, 7)
        return rnd.choice((f"{prefix} {sub}", f"+{cc} {net} {sub}", f"+{cc}{net}{sub}"))
    sub = _digits(rnd, 8 if prefix.startswith("015") or prefix == "0176" else 7)
    return rnd.choice(
        (
            f"{prefix} {sub}",
            f"{prefix} {sub}",
            f"{prefix}{sub}",
            f"{prefix}/{sub}",
            f"{prefix}-{sub}",
            f"+{cc} {net} {sub}",
            f"+{cc} {net} {sub}",
            f"+{cc}{net}{sub}",
        )
    )


def _firm_name(rnd: random.Random, kind: str, first: str, last: str, city: str) -> str:
    pattern = rnd.choice(data.FIRM_PATTERNS[kind])
    return pattern.format(
        n=last,
        n2=rnd.choice(data.LAST_NAMES),
        v=first,
        o=city,
        r=rnd.choice(data.RESTAURANT_NAMES),
    )


def _private_email(rnd: random.Random, first: str, last: str) -> str:
    v, n = ascii_slug(first), ascii_slug(last)
    yy = f"{rnd.choice((rnd.randint(55, 99), rnd.randint(0, 6))):02d}"
    local = rnd.choice(
        (
            f"{v}.{n}",
            f"{v}.{n}",
            f"{v}.{n}",
            f"{v[0]}.{n}",
            f"{v}{n}",
            f"{n}.{v}",
            f"{v}_{n}",
            f"{v}.{n}{yy}",
            f"{v}{yy}",
            f"{n}{v[0]}",
        )
    )
    return f"{local}@{rnd.choice(data.PRIVATE_MAIL_DOMAINS)}"


def _business_email(rnd: random.Random, first: str, last: str, firm: str) -> str:
    v, n = ascii_slug(first), ascii_slug(last)
    slug = ascii_slug(_LEGAL_FORMS.sub("", firm.lower()), "-")[:40].strip("-")
    local = rnd.choice(("info", "info", "einkauf", "bestellung", "kontakt", f"{v[0]}.{n}", v))
    return f"{local}@{slug}.{rnd.choice(data.BUSINESS_MAIL_PARENTS)}"


def _exact_share(rnd: random.Random, n: int, share: float) -> set[int]:
    return set(rnd.sample(range(n), round(n * share)))


def make_people(rnd: random.Random, kinds: list[str]) -> list[Person]:
    """One person per customer; ``kinds`` are the Kundengruppen (``Endkunde`` = private)."""
    n = len(kinds)
    no_email = _exact_share(rnd, n, SHARE_WITHOUT_EMAIL)
    no_mobile = _exact_share(rnd, n, SHARE_WITHOUT_MOBILE)
    no_consent = _exact_share(rnd, n, SHARE_WITHOUT_CONSENT)
    countries = [c for c, _ in data.COUNTRY_SHARES]
    country_cum = list(accumulate(s for _, s in data.COUNTRY_SHARES))
    city_cum = {c: list(accumulate(w for *_, w in cities)) for c, cities in data.CITIES.items()}
    seen: set[str] = set()
    people = []
    for i, kind in enumerate(kinds):
        first, last = rnd.choice(data.FIRST_NAMES), rnd.choice(data.LAST_NAMES)
        country = rnd.choices(countries, cum_weights=country_cum)[0]
        city, code, _ = rnd.choices(data.CITIES[country], cum_weights=city_cum[country])[0]
        business = kind != "Endkunde"
        firm = _firm_name(rnd, kind, first, last, city) if business else ""
        email = ""
        if i not in no_email:
            if business:
                email = _business_email(rnd, first, last, firm)
            else:
                email = _private_email(rnd, first, last)
            while email in seen:  # same name twice: the second one picked a number
                local, domain = email.split("@")
                email = f"{local.rstrip('0123456789')}{rnd.randint(1, 99)}@{domain}"
            seen.add(email)
        has_phone = business or rnd.random() < SHARE_PRIVATE_WITH_PHONE
        people.append(
            Person(
                first_name=first,
                last_name=last,
                firm=firm,
                email=email,
                phone=_landline(rnd, country, code) if has_phone else "",
                mobile="" if i in no_mobile else _mobile(rnd, country),
                city=city,
                country=country,
                newsletter=i not in no_consent,
            )
        )
    return people

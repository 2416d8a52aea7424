"""SMS helpers: phone numbers in E.164, segment counting, the unsubscribe notice (M3, M4, M5).

Segments follow GSM 03.38 and Mailjet's table (1 part: 160 GSM-7 / 70 UCS-2
characters; concatenated parts: 153 / 67, at most 5 parts). A GSM-7 extension
character (``€ [ ] { } \\ ~ ^ |`` and form feed) takes two septets that are never
split between parts; in UCS-2 a character outside the BMP (most emoji) takes two
UTF-16 code units that are never split either.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

MAX_SEGMENTS = 5  # Mailjet concatenates up to 5 parts

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
_GSM7 = GSM7_BASIC | GSM7_EXTENSION

_LIMITS = {"GSM-7": (160, 153), "UCS-2": (70, 67)}
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
_NOTICE = {"de": "Abmelden: {url}", "en": "Unsubscribe: {url}"}


@dataclass(frozen=True, slots=True)
class SmsCount:
    """``chars`` counts septets (GSM-7) or UTF-16 code units (UCS-2)."""

    chars: int
    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    per_segment: int
    non_gsm: tuple[str, ...] = ()  # the characters that force UCS-2

    @property
    def too_long(self) -> bool:
        return self.segments > MAX_SEGMENTS


@lru_cache(maxsize=4096)
def normalise_phone(
    raw: str | None, default_region: str = "DE", *, mobile_only: bool = False
) -> str | None:
    """E.164 (``+491711234567``) for a valid number, else None. Cached: a worker's batch
    asks for each number twice (the channel plan, then the message).

    Validity is phonenumbers' ``is_valid_number``. With ``mobile_only`` a number that
    is surely not a mobile (a fixed line such as 030…) gives None too; numbers that
    may be either (``FIXED_LINE_OR_MOBILE``, e.g. in the US) pass.
    """
    if not raw or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, default_region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if mobile_only and phonenumbers.number_type(number) not in _MOBILE_TYPES:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def segments(text: str) -> SmsCount:
    """How long a text is for SMS and how many parts it is sent as."""
    non_gsm = tuple(dict.fromkeys(c for c in text if c not in _GSM7))
    if non_gsm:
        encoding: Literal["GSM-7", "UCS-2"] = "UCS-2"
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
    else:
        encoding = "GSM-7"
        units = [2 if c in GSM7_EXTENSION else 1 for c in text]
    single, multi = _LIMITS[encoding]
    total = sum(units)
    if total == 0:
        count = 0
    elif total <= single:
        count = 1
    else:
        count = _pack(units, multi)
    return SmsCount(
        chars=total,
        encoding=encoding,
        segments=count,
        per_segment=single if count <= 1 else multi,
        non_gsm=non_gsm,
    )


def add_unsubscribe_notice(text: str, url: str, locale: str = "de") -> str:
    """Append the one-click unsubscribe link a marketing SMS must carry (once)."""
    if url in text:
        return text
    language = locale.replace("-", "_").split("_")[0].lower()
    notice = _NOTICE.get(language, _NOTICE["de"]).format(url=url)
    body = text.rstrip()
    return f"{body}\n{notice}" if body else notice


def _pack(units: list[int], per_segment: int) -> int:
    count, room = 1, per_segment
    for size in units:
        if size > room:
            count, room = count + 1, per_segment
        room -= size
    return count

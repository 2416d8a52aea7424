"""SMS: E.164 numbers, GSM-7/UCS-2 segments, the unsubscribe notice."""

from __future__ import annotations

import pytest

from recovery.messaging.sms import add_unsubscribe_notice, normalise_phone, segments


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("030 1234567", "+49301234567"),
        ("0171 1234567", "+491711234567"),
        ("0171/123 45 67", "+491711234567"),
        ("+49 171 1234567", "+491711234567"),
        ("0049 171 1234567", "+491711234567"),
        ("+49 (0)171 1234567", "+491711234567"),
        ("+43 664 1234567", "+436641234567"),
        ("12345", None),
        ("0171 12", None),
        ("bitte anrufen", None),
        ("", None),
        (None, None),
    ],
)
def test_numbers_become_e164_or_none(raw, expected):
    assert normalise_phone(raw) == expected


def test_mobile_only_refuses_fixed_lines():
    assert normalise_phone("030 1234567", mobile_only=True) is None
    assert normalise_phone("0171 1234567", mobile_only=True) == "+491711234567"
    assert normalise_phone("0664 1234567", "AT", mobile_only=True) == "+436641234567"


@pytest.mark.parametrize(
    ("text", "chars", "parts", "per_segment"),
    [
        ("", 0, 0, 160),
        ("a" * 160, 160, 1, 160),
        ("a" * 161, 161, 2, 153),
        ("a" * 306, 306, 2, 153),
        ("a" * 307, 307, 3, 153),
        ("Grüße aus Köln, 10 % Rabatt für Sie!", 36, 1, 160),
        ("€" * 80, 160, 1, 160),
        ("€" * 81, 162, 2, 153),
        # An escape pair is never split: 152 + € cannot share the first part.
        ("a" * 152 + "€" + "a" * 152, 306, 3, 153),
    ],
)
def test_gsm7_segments(text, chars, parts, per_segment):
    count = segments(text)

    assert (count.encoding, count.chars, count.segments, count.per_segment) == (
        "GSM-7",
        chars,
        parts,
        per_segment,
    )


@pytest.mark.parametrize(
    ("text", "chars", "parts", "per_segment"),
    [
        ("„" + "a" * 69, 70, 1, 70),
        ("„" + "a" * 70, 71, 2, 67),
        ("„" + "a" * 133, 134, 2, 67),
        ("„" + "a" * 134, 135, 3, 67),
        ("😀" * 35, 70, 1, 70),
        # 33 emoji fill 66 units; the 34th does not fit the 1 unit left.
        ("😀" * 36, 72, 2, 67),
        ("😀" * 34 + "a" * 66, 134, 3, 67),
    ],
)
def test_ucs2_segments_count_utf16_units(text, chars, parts, per_segment):
    count = segments(text)

    assert (count.encoding, count.chars, count.segments, count.per_segment) == (
        "UCS-2",
        chars,
        parts,
        per_segment,
    )


def test_the_characters_forcing_ucs2_are_named():
    count = segments("„Sommer–Sale“ jetzt")

    assert count.non_gsm == ("„", "–", "“")
    assert segments("Grüße").non_gsm == ()


def test_more_than_five_parts_is_too_long():
    assert segments("a" * 765).too_long is False
    assert segments("a" * 766).too_long is True


def test_unsubscribe_notice_is_added_once_in_the_customers_language():
    url = "https://app.example.com/u/tok"

    german = add_unsubscribe_notice("Hallo Erika!  ", url)
    assert german == f"Hallo Erika!\nAbmelden: {url}"
    assert add_unsubscribe_notice(german, url) == german
    assert add_unsubscribe_notice("Hi", url, "en_GB") == f"Hi\nUnsubscribe: {url}"
    assert add_unsubscribe_notice("", url, "fr") == f"Abmelden: {url}"

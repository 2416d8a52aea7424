"""Signed unsubscribe tokens: round trip, no expiry, tampering refused."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeSerializer

from recovery.messaging.tokens import (
    SALT,
    InvalidUnsubscribeToken,
    UnsubscribeSigner,
    UnsubscribeToken,
    make_unsubscribe_token,
    read_unsubscribe_token,
)

SECRET = "test-secret"


def test_round_trip_with_one_channel():
    token = make_unsubscribe_token(SECRET, 42, "email")

    assert read_unsubscribe_token(SECRET, token) == UnsubscribeToken(42, ("email",))


def test_round_trip_with_channels_and_message():
    token = make_unsubscribe_token(SECRET, 42, ["sms", "email", "sms"], message_id=9001)

    assert read_unsubscribe_token(SECRET, token) == UnsubscribeToken(42, ("sms", "email"), 9001)


def test_the_signer_writes_the_tokens_itsdangerous_writes_with_the_newest_secret():
    keys = ["old-secret", SECRET]
    signer, reference = UnsubscribeSigner(keys), URLSafeSerializer(keys, salt=SALT)
    for customer_id in (1, 42, 99_999, 1_000_000, 123_456_789_012):
        for channels, message_id, newsletter_id in (
            ("email", None, None),
            (("sms", "email"), 9001, None),
            ("email", None, 7),
        ):
            payload = [customer_id, ",".join([channels] if channels == "email" else channels)]
            payload += [message_id] if message_id or newsletter_id else []
            payload += [newsletter_id] if newsletter_id else []
            token = signer.token(customer_id, channels, message_id, newsletter_id)
            assert token == reference.dumps(payload)
            assert read_unsubscribe_token(SECRET, token).customer_id == customer_id


def test_token_is_url_safe():
    token = make_unsubscribe_token(SECRET, 123456789, ("email", "sms"), 987654321)

    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_tampered_token_is_refused():
    token = make_unsubscribe_token(SECRET, 42, "email")
    other = make_unsubscribe_token(SECRET, 43, "email")
    forged = other.split(".")[0] + "." + token.split(".")[1]

    with pytest.raises(InvalidUnsubscribeToken):
        read_unsubscribe_token(SECRET, forged)
    with pytest.raises(InvalidUnsubscribeToken):
        read_unsubscribe_token(SECRET, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(InvalidUnsubscribeToken):
        read_unsubscribe_token(SECRET, "not-a-token")


def test_token_signed_with_another_secret_is_refused():
    token = make_unsubscribe_token("another-secret", 42, "email")

    with pytest.raises(InvalidUnsubscribeToken):
        read_unsubscribe_token(SECRET, token)


def test_old_links_keep_working_after_the_secret_is_rotated():
    old = make_unsubscribe_token("old-secret", 42, "sms")

    assert read_unsubscribe_token(["old-secret", SECRET], old).customer_id == 42


def test_unknown_channel_is_a_programming_error():
    with pytest.raises(ValueError, match="channel"):
        make_unsubscribe_token(SECRET, 42, "fax")
    with pytest.raises(ValueError, match="channel"):
        make_unsubscribe_token(SECRET, 42, [])

"""Signed values of the public sign-up: the form token, the confirmation link, and the
keyed hash of an address that the rate limit counts.

The form token is time-stamped and names its newsletter: it proves the post comes from
a form we handed out (our page, our iframe, or our page re-shown for the plain HTML
snippet), not its session – a sign-up has no session to protect (docs/newsletters.md).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from ..messaging.tokens import Secret

FORM_SALT = "recovery.newsletter.form"
CONFIRM_SALT = "recovery.newsletter.confirm"
# A form left open longer is shown again with a fresh token (nothing typed is lost).
FORM_MAX_AGE = 24 * 3600


class InvalidToken(ValueError):
    """Altered, signed with another secret, for another newsletter, or not ours."""


class ExpiredToken(InvalidToken):
    """Genuine but too old."""


def make_form_token(secret: Secret, newsletter_id: int) -> str:
    return _serializer(secret, FORM_SALT).dumps(int(newsletter_id))


def check_form_token(secret: Secret, token: str, newsletter_id: int) -> None:
    """Nothing when ``token`` is a genuine form token of this newsletter, not too old."""
    payload = _load(secret, FORM_SALT, token, FORM_MAX_AGE)
    if payload != newsletter_id:
        raise InvalidToken("the form belongs to another newsletter")


@dataclass(frozen=True, slots=True)
class ConfirmToken:
    subscription_id: int
    customer_id: int


def make_confirm_token(secret: Secret, subscription_id: int, customer_id: int) -> str:
    return _serializer(secret, CONFIRM_SALT).dumps([int(subscription_id), int(customer_id)])


def read_confirm_token(secret: Secret, token: str, max_age_hours: int | None) -> ConfirmToken:
    """The link's subscription; :class:`ExpiredToken` after ``max_age_hours``."""
    max_age = max_age_hours * 3600 if max_age_hours else None
    payload = _load(secret, CONFIRM_SALT, token, max_age)
    if not (isinstance(payload, list) and len(payload) == 2 and all(_is_int(v) for v in payload)):
        raise InvalidToken("the confirmation link has an unknown form")
    return ConfirmToken(*payload)


def confirm_token_subscription(secret: Secret, token: str) -> ConfirmToken:
    """The link's subscription whatever its age (to tell "expired" from "not ours")."""
    return read_confirm_token(secret, token, None)


def address_hash(secret: Secret, address: str) -> str:
    key = secret[-1] if isinstance(secret, list | tuple) else secret
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()


def _load(secret: Secret, salt: str, token: str, max_age: int | None) -> object:
    try:
        return _serializer(secret, salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise ExpiredToken("expired") from exc
    except BadData as exc:
        raise InvalidToken("not genuine") from exc


def _serializer(secret: Secret, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=salt)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

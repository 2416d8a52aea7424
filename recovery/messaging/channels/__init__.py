"""Message channels and SMS providers that register themselves (PRODUCT.md M1, M4).

``channel("sms")``, ``channels()``, ``sms_provider("twilio")``, ``sms_providers()``.
Adding a channel or a provider is one module here with ``@register_channel`` or
``@register_provider``, and its name in the import line below.
"""

from . import email, mailjet_sms, sms, twilio_sms  # noqa: F401 (they register themselves)
from .base import (
    DEFAULT_SMS_PROVIDER,
    MessageChannel,
    SmsProvider,
    UnknownChannel,
    channel,
    channels,
    register_channel,
    register_provider,
    sms_provider,
    sms_providers,
)

__all__ = [
    "DEFAULT_SMS_PROVIDER",
    "MessageChannel",
    "SmsProvider",
    "UnknownChannel",
    "channel",
    "channels",
    "register_channel",
    "register_provider",
    "sms_provider",
    "sms_providers",
]

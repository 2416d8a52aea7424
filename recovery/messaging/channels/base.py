"""The channel and SMS provider interfaces and their registries.

A channel (email, SMS) says how a customer is reached on it: the address, the consent
check, the size rules and the preview. An SMS provider says how an SMS leaves the app:
its transport, the company's sender for it, and what its terms allow it to be used for.
Each module registers itself with ``@register_channel`` or ``@register_provider``, like
the connectors in ``wawi_connectors/registry.py``; nobody else names a channel by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flask_babel import gettext as _
from flask_babel.speaklater import LazyString

from ...models import Company, Customer
from ...models.message import CHANNEL_LABELS, Channel
from .. import consent
from ..options import MessagingOptions
from ..transport import SmsTransport


class UnknownChannel(LookupError):
    """No channel or provider of that name is registered."""


class MessageChannel:
    """One way to reach a customer. Subclasses set ``name`` and ``order``."""

    name: ClassVar[Channel]
    order: ClassVar[int]  # the stable order of channels() and of every list of channels

    @property
    def label(self) -> str:
        return str(CHANNEL_LABELS[self.name])

    def address(self, customer: Customer) -> str | None:
        """Where the message goes, in the form the provider needs; None when unusable."""
        raise NotImplementedError

    def blocked(self, customer: Customer, marketing: bool = True) -> str | None:
        """Why the channel cannot reach the customer (consent, address), or None."""
        return self.refuse(customer, consent.record(customer.id, self.name), marketing)

    def refuse(self, customer: Customer, record: str | None, marketing: bool = True) -> str | None:
        """:meth:`blocked` with the customer's do-not-contact ``record`` read already."""
        return consent.reason_from_record(customer, self.name, record, marketing)

    def size_problem(self, body: str) -> str | None:
        """Why a finished text is too big for the channel, or None."""
        return None


class SmsProvider:
    """One SMS provider. Subclasses set the class attributes and :meth:`open`."""

    name: ClassVar[str]
    label: ClassVar[LazyString]
    # What the provider's terms allow it to be used for, in words for the company page.
    usage: ClassVar[LazyString]
    marketing_allowed: ClassVar[bool]
    # The app config keys the provider needs before anything can be sent.
    required_config: ClassVar[tuple[str, ...]]
    not_set_up: ClassVar[LazyString]

    def configured(self, config: Mapping[str, Any]) -> bool:
        return all(config.get(key) for key in self.required_config)

    def sender(self, company: Company) -> str | None:
        """The company's "From" for this provider."""
        raise NotImplementedError

    def open(self, config: Mapping[str, Any], options: MessagingOptions) -> SmsTransport:
        """A transport for one worker; the caller closes it."""
        raise NotImplementedError


_CHANNELS: dict[str, MessageChannel] = {}
_PROVIDERS: dict[str, SmsProvider] = {}


def register_channel(cls: type[MessageChannel]) -> type[MessageChannel]:
    """Class decorator: make a channel available under its ``name``."""
    _CHANNELS[cls.name] = cls()
    return cls


def register_provider(cls: type[SmsProvider]) -> type[SmsProvider]:
    """Class decorator: make an SMS provider available under its ``name``."""
    _PROVIDERS[cls.name] = cls()
    return cls


def channel(name: str) -> MessageChannel:
    try:
        return _CHANNELS[name]
    except KeyError:
        raise UnknownChannel(f"unknown channel {name!r}") from None


def channels() -> list[MessageChannel]:
    """Every registered channel, in their fixed order."""
    return sorted(_CHANNELS.values(), key=lambda c: c.order)


def sms_provider(name: str | None) -> SmsProvider:
    """The provider of that name; None is Mailjet, the provider before there was a choice."""
    try:
        return _PROVIDERS[name or DEFAULT_SMS_PROVIDER]
    except KeyError:
        raise UnknownChannel(_("unknown SMS provider %(name)s", name=name)) from None


def sms_providers() -> list[SmsProvider]:
    """Every registered SMS provider: the default first, then by name."""
    return sorted(_PROVIDERS.values(), key=lambda p: (p.name != DEFAULT_SMS_PROVIDER, p.name))


DEFAULT_SMS_PROVIDER = "mailjet_sms"

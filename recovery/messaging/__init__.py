"""Messaging: Mailjet transport, variables, placeholders, SMS helpers, unsubscribe tokens.

Kept import-light on purpose: the transport and helper modules take plain values and
return dataclasses, so nothing here imports Flask or the models. Import the module
you need (``from recovery.messaging.mailjet import MailjetTransport``).
"""

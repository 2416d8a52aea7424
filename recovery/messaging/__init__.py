"""Messaging (PRODUCT.md M1–M8): the outbox that stores every message before it is sent,
channels and SMS providers that register themselves (``channels/``), variables and
placeholders, consent, unsubscribe tokens, the sending loop and the Mailjet webhook.

The transports (``mailjet.py``, ``channels/twilio_sms.py``) and the text helpers
(``sms.py``, ``placeholders.py``) take plain values and return dataclasses; the outbox,
consent and sending work on the models. Import the module you need.
"""

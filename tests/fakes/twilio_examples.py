# ruff: noqa: E501 - the example payloads are kept exactly as published
"""Twilio's own published example payloads, used by the fake Twilio as they are.

``CREATE_MESSAGE_201``: the 201 answer of "Create a Message"
(``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``) from the official client's
generated tests, twilio/twilio-python
``tests/integration/api/v2010/account/test_message.py`` (``test_create_response``),
which are generated from Twilio's OpenAPI description of the Message resource.

``ERROR_21211``: the error shape Twilio documents for every REST error (``code``,
``message``, ``more_info``, ``status``), with the text of error 21211 ("Invalid 'To'
Phone Number", https://www.twilio.com/docs/errors/21211) as Twilio answers it.
``ERROR_20429``: the same shape for error 20429 "Too Many Requests"
(https://www.twilio.com/docs/errors/20429), answered with HTTP 429.
``ERROR_20003``: error 20003 "Authenticate" (https://www.twilio.com/docs/errors/20003),
answered with HTTP 401 when the account SID or auth token is wrong.
"""

CREATE_MESSAGE_201 = {
    "account_sid": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "api_version": "2010-04-01",
    "body": "O Slash: \u00d8, PoP: \U0001f4a9",
    "date_created": "Thu, 30 Jul 2015 20:12:31 +0000",
    "date_sent": "Thu, 30 Jul 2015 20:12:33 +0000",
    "date_updated": "Thu, 30 Jul 2015 20:12:33 +0000",
    "direction": "outbound-api",
    "error_code": None,
    "error_message": None,
    "from": "+14155552345",
    "messaging_service_sid": "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "num_media": "0",
    "num_segments": "1",
    "price": "-0.00750",
    "price_unit": "USD",
    "sid": "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "status": "sent",
    "subresource_uris": {
        "media": "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages/SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Media.json"
    },
    "to": "+14155552345",
    "uri": "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages/SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json",
}

ERROR_21211 = {
    "code": 21211,
    "message": "The 'To' number {to} is not a valid phone number.",
    "more_info": "https://www.twilio.com/docs/errors/21211",
    "status": 400,
}

ERROR_20429 = {
    "code": 20429,
    "message": "Too Many Requests",
    "more_info": "https://www.twilio.com/docs/errors/20429",
    "status": 429,
}

ERROR_20003 = {
    "code": 20003,
    "message": "Authenticate",
    "more_info": "https://www.twilio.com/docs/errors/20003",
    "status": 401,
}

"""The newsletter confirmation goes out through the worker and the real Mailjet client,
like every message (issue 15, G2): text of our own, or the newsletter's template."""

from __future__ import annotations

from sqlalchemy import select

from recovery.models import Message
from tests.app.test_newsletters import CONFIRM_RE, make_newsletter, sign_up
from tests.messaging import messaging_fixtures
from tests.messaging.messaging_fixtures import STANDARD, run_worker

mailjet, fake, online = messaging_fixtures.FIXTURES  # used as pytest fixtures


def test_confirmation_text_is_sent_by_the_worker_once(app, db, build, client, online):
    newsletter = make_newsletter(db, build)
    sign_up(client, newsletter, "anna@example.org", first_name="Anna")
    message = db.session.scalar(select(Message))
    assert (message.state, message.purpose, message.marketing) == (
        "queued",
        "confirmation",
        False,
    )
    assert run_worker(app).sent == 1
    assert run_worker(app).sent == 0
    [sent] = online.delivered(str(message.id))
    assert sent.to == "anna@example.org" and sent.sender == "post@gartenwelt.example"
    assert sent.subject == "Bitte bestätigen: Newsletter „Gartenpost“"
    text = sent.payload["TextPart"]
    assert CONFIRM_RE.search(text) and "/p/unsubscribe/" in text


def test_confirmation_with_a_template_gets_the_link_as_a_variable(app, db, build, client, online):
    newsletter = make_newsletter(db, build, confirm_template_id=STANDARD)
    sign_up(client, newsletter, "anna@example.org")
    assert run_worker(app).sent == 1
    message = db.session.scalar(select(Message))
    [sent] = online.delivered(str(message.id))
    assert sent.template_id == STANDARD
    assert CONFIRM_RE.search(sent.variables["bestaetigungslink"])
    assert sent.variables["newslettername"] == "Gartenpost"
    assert sent.variables["mailtext"] == "Wir freuen uns auf Sie!"
    assert "/p/unsubscribe/" in sent.variables["abmeldelink"]

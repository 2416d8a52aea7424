"""The unsubscribe link of a newsletter's message leaves that newsletter (issue 15): the
subscription becomes "unsubscribed" with its time, other newsletters and other marketing
mail go on; the same page offers to stop all marketing mail. A later serial message to
the newsletter skips whoever left it. Every other message keeps the global link."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from recovery.campaigns import serial, serial_queue
from recovery.extensions import db
from recovery.messaging.tokens import make_unsubscribe_token, read_unsubscribe_token
from recovery.models import (
    CONTACT_SOURCE,
    ContactGroup,
    Customer,
    GroupMember,
    Message,
    Newsletter,
    NewsletterSubscription,
    SerialMessage,
    utcnow,
)
from tests.campaigns.helpers import shop
from tests.conftest import make_user

BASE = "http://127.0.0.1:5000"


def _newsletter(name: str) -> Newsletter:
    group = ContactGroup(name=f"{name} (Gruppe)", active=True)
    db.session.add(group)
    db.session.flush()
    newsletter = Newsletter(group_id=group.id, name=name)
    db.session.add(newsletter)
    db.session.commit()
    return newsletter


def _subscribe(newsletter: Newsletter, *customers: Customer) -> None:
    for customer in customers:
        db.session.add(
            GroupMember(group_id=newsletter.group_id, customer_id=customer.id, source="form")
        )
        db.session.add(
            NewsletterSubscription(
                newsletter_id=newsletter.id,
                customer_id=customer.id,
                status="confirmed",
                source="form",
                confirmed_at=utcnow(),
            )
        )
    db.session.commit()


def _send(app, admin, company, target: str, name: str = "Frühjahr") -> dict[int, Message]:
    item = serial.save_draft(
        serial.Draft(
            name=name,
            target=target,
            company_id=company.id,
            salutation="none",
            subject="Neu im Frühjahr",
            body="wir haben neues Saatgut.",
        ),
        admin,
    )
    db.session.commit()
    with app.test_request_context():
        serial.send_now(item, admin)
        db.session.commit()
        serial_queue.queue_messages(item.id, utcnow())
    db.session.expire_all()
    found = db.session.scalars(select(Message).where(Message.serial_message_id == item.id))
    return {m.customer_id: m for m in found}


def _path(message: Message) -> str:
    return message.variables["abmeldelink"].removeprefix(BASE)


def _states(customer: Customer) -> dict[str, tuple[str, bool]]:
    db.session.expire_all()
    rows = db.session.execute(
        select(
            Newsletter.name, NewsletterSubscription.status, NewsletterSubscription.unsubscribed_at
        )
        .join(Newsletter, Newsletter.id == NewsletterSubscription.newsletter_id)
        .where(NewsletterSubscription.customer_id == customer.id)
    )
    return {name: (status, at is not None) for name, status, at in rows}


def _blocked(customer: Customer) -> dict[str, str]:
    db.session.expire_all()
    return db.session.get(Customer, customer.id).blocked_channels()


@pytest.fixture()
def setting(app, db, build):
    admin = make_user("admin", email="ada@gartenwelt.example")
    company = shop(build)
    garden, roses = _newsletter("Gartenpost"), _newsletter("Rosenbrief")
    anna, ben, cleo = (build.customer(first_name=n) for n in ("Anna", "Ben", "Cleo"))
    _subscribe(garden, anna, ben, cleo)
    _subscribe(roses, anna, ben)
    messages = _send(app, admin, company, f"newsletter:{garden.group_id}")
    return admin, company, garden, roses, (anna, ben, cleo), messages


def test_the_link_of_a_newsletter_message_names_the_newsletter(app, setting):
    _admin, _company, garden, _roses, (anna, *_), messages = setting
    token = _path(messages[anna.id]).rsplit("/", 1)[1]
    data = read_unsubscribe_token(app.config["SECRET_KEY"], token)
    assert (data.customer_id, data.channels, data.newsletter_id) == (anna.id, ("email",), garden.id)


def test_the_page_asks_for_the_newsletter_and_offers_to_stop_everything(client, setting):
    *_, (anna, *_), messages = setting
    page = client.get(_path(messages[anna.id]))
    html = unescape(page.get_data(as_text=True))
    assert page.status_code == 200
    assert "Möchten Sie den Newsletter „Gartenpost“ nicht mehr erhalten?" in html
    assert "Von diesem Newsletter abmelden" in html and "Alle Werbe-E-Mails abbestellen" in html
    assert re.findall(r'name="scope" value="(\w+)"', html) == ["all"]
    assert _states(anna) == {"Gartenpost": ("confirmed", False), "Rosenbrief": ("confirmed", False)}


def test_the_button_leaves_only_that_newsletter_and_the_next_message_skips_the_person(
    app, client, setting
):
    admin, company, garden, _roses, (anna, ben, cleo), messages = setting
    done = client.post(_path(messages[anna.id]))
    html = unescape(done.get_data(as_text=True))
    assert "Sie erhalten den Newsletter „Gartenpost“ nicht mehr." in html
    assert "Alle Werbe-E-Mails abbestellen" in html  # still offered after leaving
    assert _states(anna) == {
        "Gartenpost": ("unsubscribed", True),
        "Rosenbrief": ("confirmed", False),
    }
    assert _blocked(anna) == {}  # other marketing mail goes on
    again = _send(app, admin, company, f"newsletter:{garden.group_id}", name="Sommer")
    assert set(again) == {ben.id, cleo.id}
    # the group's own messages still reach the person, with the global link
    to_group = _send(app, admin, company, f"group:{garden.group_id}", name="An alle")
    assert anna.id in to_group
    token = _path(to_group[anna.id]).rsplit("/", 1)[1]
    assert read_unsubscribe_token(app.config["SECRET_KEY"], token).newsletter_id is None


def test_a_sign_up_contact_who_left_the_newsletter_gets_no_group_message(app, client, setting):
    """A contact from the form (no WaWi customer) has no basis for marketing mail but its
    subscription: after leaving the newsletter, the group's own messages skip it."""
    admin, company, garden, _roses, (anna, ben, cleo), messages = setting
    cleo.source = CONTACT_SOURCE
    db.session.commit()
    client.post(_path(messages[cleo.id]))  # Cleo, a sign-up contact, leaves
    client.post(_path(messages[anna.id]))  # Anna, a customer, leaves too
    to_group = _send(app, admin, company, f"group:{garden.group_id}", name="An alle")
    assert set(to_group) == {anna.id, ben.id}
    item = db.session.get(SerialMessage, to_group[ben.id].serial_message_id)
    assert serial.count_recipients(item) == 2


def test_stop_all_blocks_marketing_mail_and_ends_every_newsletter(client, setting):
    *_, (_anna, ben, _cleo), messages = setting
    done = client.post(_path(messages[ben.id]), data={"scope": "all"})
    assert "Wir senden Ihnen keine Werbe-E-Mails mehr." in unescape(done.get_data(as_text=True))
    assert _blocked(ben) == {"email": "unsubscribed"}
    assert _states(ben) == {
        "Gartenpost": ("unsubscribed", True),
        "Rosenbrief": ("unsubscribed", True),
    }


def test_stop_all_after_leaving_the_newsletter(client, setting):
    *_, (anna, *_), messages = setting
    client.post(_path(messages[anna.id]))
    client.post(_path(messages[anna.id]), data={"scope": "all"})
    assert _blocked(anna) == {"email": "unsubscribed"}
    assert _states(anna) == {
        "Gartenpost": ("unsubscribed", True),
        "Rosenbrief": ("unsubscribed", True),
    }


def test_a_one_click_post_leaves_the_newsletter_only(client, setting):
    *_, (_anna, _ben, cleo), messages = setting
    response = client.post(
        _path(messages[cleo.id]),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert _states(cleo) == {"Gartenpost": ("unsubscribed", True)}
    assert _blocked(cleo) == {}


def test_leaving_twice_keeps_the_first_time(client, setting):
    *_, (anna, *_), messages = setting
    client.post(_path(messages[anna.id]))
    db.session.expire_all()
    first = db.session.scalar(
        select(NewsletterSubscription.unsubscribed_at).where(
            NewsletterSubscription.customer_id == anna.id,
            NewsletterSubscription.status == "unsubscribed",
        )
    )
    client.post(_path(messages[anna.id]))
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(NewsletterSubscription.unsubscribed_at).where(
                NewsletterSubscription.customer_id == anna.id,
                NewsletterSubscription.status == "unsubscribed",
            )
        )
        == first
    )


def test_an_english_customer_gets_the_page_in_english(app, client, db, build):
    newsletter = _newsletter("Garden news")
    dan = build.customer(first_name="Dan", locale="en")
    _subscribe(newsletter, dan)
    token = make_unsubscribe_token(app.config["SECRET_KEY"], dan.id, "email", None, newsletter.id)
    html = unescape(client.get(f"/p/unsubscribe/{token}").get_data(as_text=True))
    assert "Do you no longer want to receive the newsletter “Garden news”?" in html
    assert "Stop all marketing emails" in html


def test_an_altered_newsletter_in_the_token_is_refused(app, client, db, build):
    newsletter = _newsletter("Gartenpost")
    fay = build.customer()
    token = make_unsubscribe_token(app.config["SECRET_KEY"], fay.id, "email", None, newsletter.id)
    head, sig = token.rsplit(".", 1)
    forged = make_unsubscribe_token("another secret", fay.id, "email", None, newsletter.id + 1)
    assert client.get(f"/p/unsubscribe/{forged}").status_code == 404
    assert client.post(f"/p/unsubscribe/{head}.{sig[::-1]}").status_code == 404
    assert _states(fay) == {}

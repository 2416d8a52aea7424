"""The unsubscribe link: GET and HEAD only ask, a POST unsubscribes (#13.7, RFC 8058).

Mail link scanners and prefetchers open every link of an email with GET or HEAD; they
must not unsubscribe anybody. The button on the page and a mail client's one-click
POST (``List-Unsubscribe=One-Click``, RFC 8058 section 3.2) do.
"""

from __future__ import annotations

import re
from html import unescape

from recovery.models import Customer
from tests.messaging import messaging_fixtures
from tests.messaging.messaging_fixtures import case_for, company, messages, queue_emails, run_worker

mailjet, fake, online = messaging_fixtures.FIXTURES  # used as pytest fixtures

BASE = "http://127.0.0.1:5000"


def _blocked(db, customer_id):
    db.session.expire_all()
    return db.session.get(Customer, customer_id).blocked_channels()


def _queued(app, build, **shop_fields):
    shop = company(build, **shop_fields)
    case = case_for(build, shop)
    [message_id] = queue_emails(app, [case])
    return case.customer_id, message_id


def _link(app, build, **shop_fields):
    customer_id, message_id = _queued(app, build, **shop_fields)
    return customer_id, messages([message_id])[message_id].variables["abmeldelink"]


def test_get_and_head_show_the_question_and_change_nothing(app, db, build, client):
    customer_id, link = _link(app, build, name="Gartenwelt GmbH", sender_name="Gartenwelt Köln")
    path = link.removeprefix(BASE)
    assert client.head(path).status_code == 200
    page = client.get(path)
    assert page.status_code == 200
    assert _blocked(db, customer_id) == {}
    html = page.get_data(as_text=True)
    assert "Gartenwelt Köln" in unescape(html)  # the merchant's name as in the email's From
    forms = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', html)
    assert forms == [path]  # one button, posting to the signed link itself
    assert html.count("<button") == 1
    assert 'name="csrf_token"' not in html  # the signed link is the token
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers.get("X-Robots-Tag") == "noindex"


def test_the_button_unsubscribes(app, db, build, client):
    customer_id, link = _link(app, build)
    done = client.post(link.removeprefix(BASE))
    assert done.status_code == 200
    assert _blocked(db, customer_id) == {"email": "unsubscribed"}
    assert "abgemeldet" in done.get_data(as_text=True)  # the customer's language: German


def test_rfc8058_one_click_post_from_the_mail_header_unsubscribes(app, db, build, client, online):
    customer_id, message_id = _queued(app, build)
    assert run_worker(app).sent == 1
    [sent] = online.delivered(str(message_id))
    assert sent.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(https?://[^>]+)>", sent.headers["List-Unsubscribe"]).group(1)
    response = client.post(
        url.removeprefix(BASE),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert _blocked(db, customer_id) == {"email": "unsubscribed"}


def test_a_tampered_link_is_404_for_every_method(app, db, build, client):
    customer_id, link = _link(app, build)
    path = link.removeprefix(BASE)
    tampered = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    for method in (client.get, client.head, client.post):
        assert method(tampered).status_code == 404
    assert _blocked(db, customer_id) == {}


def test_a_customer_without_orders_gets_the_page_without_a_merchant(app, db, build, client):
    from recovery.messaging.outbox import unsubscribe_url

    customer = build.customer()
    with app.test_request_context():
        path = unsubscribe_url(customer, "email").removeprefix(BASE)
    page = client.get(path)
    assert page.status_code == 200 and "<button" in page.get_data(as_text=True)
    assert _blocked(db, customer.id) == {}

"""The newsletter sign-up in the browser (issue 15, G2): the public form with and without
the business's header and footer (framed by another page), the confirmation link read
from the in-app outbox, and the admin's pages – in German and English at 1366×768."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from recovery.models import ContactGroup, NewsletterSubscription
from tests.app.test_newsletters import make_newsletter
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser

TEXT = {
    "de": {"subscribe": "Anmelden", "confirm": "Abonnement bestätigen", "done": "bestätigt"},
    "en": {"subscribe": "Subscribe", "confirm": "Confirm subscription", "done": "confirmed"},
}


@pytest.mark.parametrize("lang", ["de", "en"])
def test_visitor_signs_up_in_a_frame_and_confirms_from_the_outbox(
    browser, live_server, db, build, lang
):
    newsletter = make_newsletter(db, build)
    db.session.add(ContactGroup(name="Stammkunden"))
    db.session.commit()
    words = TEXT[lang]
    shots = _shots(lang)
    visitor = browser.new_context(
        base_url=live_server, locale="de-DE" if lang == "de" else "en-GB",
        viewport={"width": 1366, "height": 768},
    )  # fmt: skip
    page = visitor.new_page()
    page.set_default_timeout(10_000)
    # With the business's header and footer
    page.goto(f"/p/newsletter/{newsletter.public_key}")
    assert page.locator("header.public-head").inner_text().startswith("Gartenwelt GmbH")
    assert page.locator("footer.public-foot").is_visible()
    trap = page.locator("input[name=homepage]").bounding_box()  # the honeypot: off screen
    assert trap["x"] + trap["width"] <= 0
    shots(page, "newsletter-01-form")
    # Without: framed by the merchant's own page (another origin)
    bare = f"{live_server}/p/newsletter/{newsletter.public_key}?embed=1"
    host = (
        "<!doctype html><meta charset=utf-8><title>Shop</title><h1>Gartenwelt – Mein Shop</h1>"
        f'<iframe src="{bare}" style="width:480px;height:600px;border:1px solid #ccc"></iframe>'
    )
    with _merchant_site(host) as shop:  # another origin frames the form
        page.goto(shop)
    frame = page.frame_locator("iframe")
    frame.locator("input[name=email]").wait_for()
    assert frame.locator("header.public-head").count() == 0
    frame.locator("select[name=salutation]").select_option("ms")
    frame.locator("input[name=first_name]").fill("Anna")
    frame.locator("input[name=last_name]").fill("Schäfer")
    frame.locator("input[name=email]").fill(f"anna.{lang}@example.org")
    shots(page, "newsletter-02-embedded")
    frame.locator(f"button:has-text('{words['subscribe']}')").click()
    frame.locator("h1").wait_for()
    frame.locator("text=Spam").or_(frame.locator("text=spam")).first.wait_for()
    shots(page, "newsletter-03-thanks")
    sub = db.session.scalar(select(NewsletterSubscription))
    assert (sub.status, sub.form, sub.salutation) == ("pending", "embed", "ms")
    # The admin finds the confirmation mail in the outbox and follows its link.
    admin = make_user("admin", name="Ada Admin", locale=lang)
    office = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 768})
    desk = office.new_page()
    desk.set_default_timeout(10_000)
    log_in(desk, admin.email, PASSWORD)
    desk.goto("/admin/outbox?purpose=confirmation")
    desk.locator("table.grid tbody tr a").first.click()
    body = desk.locator("pre.body").inner_text()
    shots(desk, "newsletter-04-outbox-mail")
    link = re.search(r"/p/newsletter/confirm/\S+", body).group(0)
    page.goto(link)
    page.click(f"button:has-text('{words['confirm']}')")
    page.locator(".flash-success").wait_for()
    assert words["done"] in page.locator(".flash-success").inner_text()
    shots(page, "newsletter-05-confirmed")
    db.session.expire_all()
    assert db.session.scalar(select(NewsletterSubscription)).status == "confirmed"
    # The admin's pages: the newsletter with its snippets, the subscribers with the proof
    desk.goto("/admin/newsletters")
    shots(desk, "newsletter-06-admin-list")
    desk.goto(f"/admin/newsletters/group/{newsletter.group_id}")
    assert "?embed=1" in desk.locator("textarea.snippet").first.input_value()
    shots(desk, "newsletter-07-admin-edit")
    desk.goto(f"/admin/newsletters/{newsletter.id}/subscribers")
    desk.locator("details summary").first.click()
    assert "127.0.0.1" in desk.locator("dl.proof").first.inner_text()
    shots(desk, "newsletter-08-subscribers")
    visitor.close()
    office.close()


@contextmanager
def _merchant_site(html: str):
    """The merchant's own page, served from another origin on 127.0.0.1."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html.encode()]

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/newsletter"
    finally:
        server.shutdown()


def _shots(lang: str):
    from tests.browser.conftest import SHOTS

    SHOTS.mkdir(exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{name}-{lang}.png"), full_page=True)

    return take


UNSUBSCRIBE = {
    "de": {
        "ask": "Möchten Sie den Newsletter „Gartenpost“ nicht mehr erhalten?",
        "leave": "Von diesem Newsletter abmelden",
        "left": "Sie erhalten den Newsletter „Gartenpost“ nicht mehr.",
        "all": "Alle Werbe-E-Mails abbestellen",
        "none": "Wir senden Ihnen keine Werbe-E-Mails mehr.",
    },
    "en": {
        "ask": "Do you no longer want to receive the newsletter “Gartenpost”?",
        "leave": "Unsubscribe from this newsletter",
        "left": "You will not receive the newsletter “Gartenpost” any more.",
        "all": "Stop all marketing emails",
        "none": "We will not send you marketing emails any more.",
    },
}


@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_subscriber_leaves_the_newsletter_from_its_message_then_stops_everything(
    app, browser, live_server, db, build, lang
):
    from recovery.campaigns import serial, serial_queue
    from recovery.models import DoNotContact, GroupMember, Message, utcnow

    newsletter = make_newsletter(db, build)
    newsletter.company.sender_name = "Gartenwelt"
    anna = build.customer(first_name="Anna", last_name="Schäfer", locale=lang)
    db.session.add(GroupMember(group_id=newsletter.group_id, customer_id=anna.id, source="form"))
    db.session.add(
        NewsletterSubscription(
            newsletter_id=newsletter.id,
            customer_id=anna.id,
            status="confirmed",
            source="form",
            confirmed_at=utcnow(),
        )
    )
    admin = make_user("admin", name="Ada Admin", email="ada@gartenwelt.example")
    db.session.commit()
    item = serial.save_draft(
        serial.Draft(
            name="Frühjahr",
            target=f"newsletter:{newsletter.group_id}",
            company_id=newsletter.company_id,
            salutation="formal",
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
    message = db.session.scalar(select(Message).where(Message.serial_message_id == item.id))
    link = message.variables["abmeldelink"]
    words, shots = UNSUBSCRIBE[lang], _shots(lang)
    reader = browser.new_context(viewport={"width": 1366, "height": 768})
    page = reader.new_page()
    page.set_default_timeout(10_000)
    page.goto(link.replace("http://127.0.0.1:5000", live_server))
    assert words["ask"] in page.locator("main").inner_text()
    assert page.locator("p.muted").first.inner_text() == "Gartenwelt"  # the sender's name
    shots(page, "unsubscribe-newsletter-01-ask")
    page.click(f"button:has-text('{words['leave']}')")
    page.locator(f"text={words['left']}").wait_for()
    shots(page, "unsubscribe-newsletter-02-left")
    db.session.expire_all()
    sub = db.session.scalar(select(NewsletterSubscription))
    assert sub.status == "unsubscribed" and sub.unsubscribed_at is not None
    assert db.session.scalar(select(DoNotContact)) is None  # other mail goes on
    page.click(f"button:has-text('{words['all']}')")
    page.locator(f"text={words['none']}").wait_for()
    shots(page, "unsubscribe-newsletter-03-all")
    db.session.expire_all()
    assert db.session.scalar(select(DoNotContact.reason)) == "unsubscribed"
    reader.close()

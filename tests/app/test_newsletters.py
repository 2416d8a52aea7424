"""Newsletter sign-up with double opt-in (issue 15, G2): the public form, its protection,
the confirmation link, the consent proof, the expiry job and the admin pages."""

from __future__ import annotations

import re
import secrets
import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from recovery.cases.analysis import run_analysis
from recovery.models import (
    Case,
    ContactGroup,
    Customer,
    DoNotContact,
    GroupMember,
    GroupMemberChange,
    Message,
    Newsletter,
    NewsletterSubscription,
    utcnow,
)
from recovery.newsletters import tokens
from recovery.newsletters.jobs import expire_signups
from tests.app.test_analysis_cases import _decliner
from tests.conftest import csrf_from

TOKEN_RE = re.compile(r'name="form_token" value="([^"]+)"')
CONFIRM_RE = re.compile(r"/p/newsletter/confirm/(\S+)")
UNSUBSCRIBE_RE = re.compile(r"/p/unsubscribe/(\S+)")


@pytest.fixture()
def newsletter(db, build) -> Newsletter:
    return make_newsletter(db, build)


def make_newsletter(db, build, **fields) -> Newsletter:
    company = build.company(sender_email="post@gartenwelt.example", shop_url="https://shop.example")
    group = ContactGroup(name=fields.pop("group_name", "Newsletter-Abonnenten"))
    values = {
        "name": "Gartenpost",
        "description": "Einmal im Monat: Neues aus dem Garten.",
        "double_opt_in": True,
        "form_fields": {"first_name": True, "last_name": True, "salutation": True},
        "confirm_text": "Wir freuen uns auf Sie!",
        "expire_hours": 48,
    }
    values.update(fields)
    newsletter = Newsletter(
        group=group, company=company, public_key=secrets.token_urlsafe(16), **values
    )
    db.session.add(newsletter)
    db.session.commit()
    return newsletter


def sign_up(client, newsletter, email, query="", **fields):
    url = f"/p/newsletter/{newsletter.public_key}{query}"
    page = client.get(url).get_data(as_text=True)
    data = {"email": email, "form_token": TOKEN_RE.search(page).group(1), "form": "page"}
    data.update(fields)
    return client.post(url, data=data)


def subscriptions(db):
    return db.session.scalars(select(NewsletterSubscription)).all()


def mails(db, to=None):
    stmt = select(Message).where(Message.purpose == "confirmation").order_by(Message.id)
    if to:
        stmt = stmt.where(Message.to_address == to)
    return db.session.scalars(stmt).all()


def confirm_link(db, to) -> str:
    return "/p/newsletter/confirm/" + CONFIRM_RE.search(mails(db, to)[-1].body).group(1)


def test_sign_up_makes_a_contact_and_sends_the_confirmation_to_the_outbox(client, db, newsletter):
    response = sign_up(
        client, newsletter, " Anna.Neu@Example.org ", first_name="Anna", salutation="ms"
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/p/newsletter/{newsletter.public_key}/thanks")
    contact = db.session.scalar(select(Customer).where(Customer.source == "newsletter"))
    assert (contact.external_id, contact.email, contact.first_name) == (
        "anna.neu@example.org",
        "anna.neu@example.org",
        "Anna",
    )
    (sub,) = subscriptions(db)
    assert (sub.status, sub.source, sub.form, sub.signup_ip, sub.salutation) == (
        "pending",
        "form",
        "page",
        "127.0.0.1",
        "ms",
    )
    assert "Gartenpost" in sub.text_shown and "Neues aus dem Garten" in sub.text_shown
    assert sub.confirm_sent_at is not None and sub.confirmed_at is None
    (mail,) = mails(db)
    assert (mail.state, mail.marketing, mail.to_address) == ("outbox", False, contact.email)
    assert mail.from_address == "post@gartenwelt.example"
    assert CONFIRM_RE.search(mail.body) and UNSUBSCRIBE_RE.search(mail.body)
    assert "Wir freuen uns auf Sie!" in mail.body and "Vorname: Anna" in mail.body
    assert db.session.scalar(select(func.count(GroupMember.id))) == 0


def test_confirm_link_asks_first_then_confirms_and_adds_the_member(client, db, newsletter):
    sign_up(client, newsletter, "anna@example.org")
    link = confirm_link(db, "anna@example.org")
    page = client.get(link)
    assert page.status_code == 200 and "Abonnement bestätigen" in page.get_data(as_text=True)
    db.session.expire_all()
    assert subscriptions(db)[0].status == "pending"  # a mail scanner's GET confirms nothing
    done = client.post(link)
    assert "Ihr Abonnement ist bestätigt" in done.get_data(as_text=True)
    db.session.expire_all()
    (sub,) = subscriptions(db)
    assert (sub.status, sub.confirm_ip) == ("confirmed", "127.0.0.1")
    assert sub.confirmed_at is not None
    member = db.session.scalar(select(GroupMember))
    assert (member.customer_id, member.group_id, member.source) == (
        sub.customer_id,
        newsletter.group_id,
        "form",
    )
    change = db.session.scalar(select(GroupMemberChange))
    assert (change.change, change.source, change.customer_id) == ("added", "form", sub.customer_id)
    again = client.post(link)  # a second click: no second member
    assert "bereits bestätigt" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(GroupMember.id))) == 1


def test_the_confirmed_form_salutation_addresses_the_person_in_serial_messages(
    client, db, newsletter, build
):
    from recovery.messaging.salutation import Addressee, salutation

    known = build.customer(email="herr.krause@example.org", last_name="Krause")
    known.salutation = "mr"
    db.session.commit()
    sign_up(client, newsletter, "anna@example.org", last_name="Schäfer", salutation="ms")
    sign_up(client, newsletter, "herr.krause@example.org", salutation="ms")  # keeps "mr"
    sign_up(client, newsletter, "divers@example.org", last_name="Lang", salutation="diverse")
    for address in ("anna@example.org", "herr.krause@example.org", "divers@example.org"):
        client.post(confirm_link(db, address))
    db.session.expire_all()
    people = {
        c.email: c
        for c in db.session.scalars(select(Customer).where(Customer.email.like("%@example.org")))
    }
    assert people["anna@example.org"].salutation == "ms"
    assert people["herr.krause@example.org"].salutation == "mr"
    assert people["divers@example.org"].salutation is None
    anna = people["anna@example.org"]
    person = Addressee(last_name=anna.last_name, salutation=anna.salutation, locale="de")
    assert salutation(person, "formal") == "Sehr geehrte Frau Schäfer"


class _Old(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 49 * 3600


def test_expired_link_is_refused_and_offers_a_new_sign_up(app, client, db, newsletter):
    sign_up(client, newsletter, "anna@example.org")
    sub = subscriptions(db)[0]
    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], tokens.CONFIRM_SALT, signer=_Old)
    link = "/p/newsletter/confirm/" + old.dumps([sub.id, sub.customer_id])
    for method in (client.get, client.post):
        response = method(link)
        assert response.status_code == 410
        assert "abgelaufen" in response.get_data(as_text=True)
    db.session.expire_all()
    assert subscriptions(db)[0].status == "pending"


def test_tampered_link_is_not_found_and_changes_nothing(client, db, newsletter):
    sign_up(client, newsletter, "anna@example.org")
    link = confirm_link(db, "anna@example.org")
    sub = subscriptions(db)[0]
    other = tokens.make_confirm_token("another secret", sub.id, sub.customer_id)
    for bad in (link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb"), other):
        bad = bad if bad.startswith("/") else "/p/newsletter/confirm/" + bad
        assert client.post(bad).status_code == 404
    db.session.expire_all()
    assert subscriptions(db)[0].status == "pending"


def test_signing_up_twice_keeps_one_row_and_sends_the_link_again(client, db, newsletter):
    first = sign_up(client, newsletter, "anna@example.org")
    second = sign_up(client, newsletter, "ANNA@example.org")
    assert (first.status_code, first.headers["Location"]) == (
        second.status_code,
        second.headers["Location"],
    )
    assert len(subscriptions(db)) == 1
    assert db.session.scalar(select(func.count(Customer.id))) == 1
    assert len(mails(db, "anna@example.org")) == 2
    # the first mail's link still confirms
    first_link = "/p/newsletter/confirm/" + CONFIRM_RE.search(mails(db)[0].body).group(1)
    client.post(first_link)
    db.session.expire_all()
    assert subscriptions(db)[0].status == "confirmed"


def test_identical_answers_whatever_the_address_state(client, db, newsletter, build):
    build.customer(email="kunde@example.org")
    sign_up(client, newsletter, "bestaetigt@example.org")
    client.post(confirm_link(db, "bestaetigt@example.org"))
    sign_up(client, newsletter, "wartet@example.org")
    answers = []
    for address in ("neu@example.org", "kunde@example.org", "bestaetigt@example.org",
                    "wartet@example.org"):  # fmt: skip
        response = sign_up(client, newsletter, address)
        thanks = client.get(response.headers["Location"])
        answers.append(
            (response.status_code, response.headers["Location"], thanks.status_code,
             thanks.get_data(as_text=True))
        )  # fmt: skip
    assert all(a == answers[0] for a in answers)
    # the owner of the confirmed address learns it by mail, nobody else
    notice = mails(db, "bestaetigt@example.org")[-1]
    assert "bereits angemeldet" in notice.body and not CONFIRM_RE.search(notice.body)


def test_existing_customer_is_matched_by_address_in_any_case(client, db, newsletter, build):
    customer = build.customer(email="Erika.Kundin@Example.de")
    sign_up(client, newsletter, "erika.kundin@example.de")
    (sub,) = subscriptions(db)
    assert sub.customer_id == customer.id
    assert db.session.scalar(select(func.count(Customer.id))) == 1


def test_unsubscribed_address_must_confirm_again_even_without_double_opt_in(client, db, build):
    newsletter = make_newsletter(db, build, double_opt_in=False)
    sign_up(client, newsletter, "anna@example.org")
    (sub,) = subscriptions(db)
    assert sub.status == "confirmed" and not mails(db)  # no double opt-in: at once
    assert db.session.scalar(select(func.count(GroupMember.id))) == 1
    # an unsubscribe link (from any of our mails) ends the subscription
    from recovery.messaging.outbox import unsubscribe_url

    link = unsubscribe_url(sub.customer, "email").split("127.0.0.1:5000")[1]
    client.post(link)
    db.session.expire_all()
    sub = subscriptions(db)[0]
    assert sub.status == "unsubscribed" and sub.unsubscribed_at is not None
    assert db.session.scalar(select(DoNotContact.reason)) == "unsubscribed"
    # signing up again is a fresh consent: it needs the link, the earlier one is kept
    sign_up(client, newsletter, "anna@example.org")
    db.session.expire_all()
    sub = subscriptions(db)[0]
    assert sub.status == "pending" and len(sub.history) == 1
    assert sub.history[0]["unsubscribed_at"]
    client.post(confirm_link(db, "anna@example.org"))
    db.session.expire_all()
    assert subscriptions(db)[0].status == "confirmed"
    assert db.session.scalar(select(func.count(DoNotContact.id))) == 0


def test_bounced_address_gets_no_mail_and_the_same_answer(client, db, newsletter, build):
    customer = build.customer(email="weg@example.org")
    db.session.add(DoNotContact(customer_id=customer.id, channel="email", reason="hard_bounce"))
    db.session.commit()
    fresh = sign_up(client, newsletter, "neu@example.org")
    bounced = sign_up(client, newsletter, "weg@example.org")
    assert (bounced.status_code, bounced.headers["Location"]) == (
        fresh.status_code,
        fresh.headers["Location"],
    )
    assert not mails(db, "weg@example.org")
    assert [s.customer_id for s in subscriptions(db)] != [customer.id]


def test_honeypot_gets_the_same_answer_and_stores_nothing(client, db, newsletter):
    human = sign_up(client, newsletter, "mensch@example.org")
    bot = sign_up(client, newsletter, "bot@example.org", homepage="http://spam.example")
    assert (bot.status_code, bot.headers["Location"]) == (
        human.status_code,
        human.headers["Location"],
    )
    assert not mails(db, "bot@example.org")
    assert db.session.scalar(select(func.count(Customer.id))) == 1


def test_rate_limit_per_address_and_per_client(app, client, db, newsletter, monkeypatch):
    for _ in range(3):
        assert sign_up(client, newsletter, "anna@example.org").status_code == 303
    refused = sign_up(client, newsletter, "ANNA@example.org")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "zu viele Anmeldungen" in refused.get_data(as_text=True)
    assert len(mails(db, "anna@example.org")) == 3
    # the three counted posts and bert's fill the client's limit
    monkeypatch.setitem(app.config, "NEWSLETTER_SIGNUP_LIMITS", {"per_client": 4})
    assert sign_up(client, newsletter, "bert@example.org").status_code == 303
    assert sign_up(client, newsletter, "carla@example.org").status_code == 429
    assert not mails(db, "carla@example.org")


def test_form_without_token_shows_the_entries_again_with_a_token(client, db, newsletter):
    url = f"/p/newsletter/{newsletter.public_key}"
    snippet = client.post(url, data={"email": "anna@example.org", "form": "snippet"})
    html = snippet.get_data(as_text=True)
    assert snippet.status_code == 200 and 'value="anna@example.org"' in html
    assert TOKEN_RE.search(html) and not subscriptions(db)
    assert 'name="form" value="snippet"' in html  # one more click on our page, then stored
    again = client.post(
        url,
        data={
            "email": "anna@example.org",
            "form": "snippet",
            "form_token": TOKEN_RE.search(html).group(1),
        },
    )
    assert again.status_code == 303 and subscriptions(db)[0].form == "snippet"
    bad = client.post(url, data={"email": "bert@example.org", "form_token": "x.y.z"})
    assert bad.status_code == 400 and len(subscriptions(db)) == 1
    token = TOKEN_RE.search(html).group(1)
    wrong = client.post(url, data={"email": "kein-at", "form_token": token})
    assert wrong.status_code == 400
    assert "keine E-Mail-Adresse" in wrong.get_data(as_text=True)


def test_form_with_and_without_header_and_footer(client, db, newsletter):
    full = client.get(f"/p/newsletter/{newsletter.public_key}")
    bare = client.get(f"/p/newsletter/{newsletter.public_key}?embed=1")
    assert "public-head" in full.get_data(as_text=True)
    assert full.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "public-head" not in bare.get_data(as_text=True)
    assert "frame-ancestors *" in bare.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in bare.headers
    assert 'name="form" value="embed"' in bare.get_data(as_text=True)
    english = client.get(f"/p/newsletter/{newsletter.public_key}?lang=en")
    assert "Subscribe" in english.get_data(as_text=True)
    for key in ("not-a-key", "a%00b", "x" * 40, "%27%20OR%201=1"):
        assert client.get(f"/p/newsletter/{key}").status_code == 404
        assert client.post(f"/p/newsletter/{key}", data={"email": "a@b.de"}).status_code == 404


def test_inactive_group_takes_no_sign_ups(client, db, newsletter):
    page = client.get(f"/p/newsletter/{newsletter.public_key}")
    token = TOKEN_RE.search(page.get_data(as_text=True)).group(1)
    newsletter.group.active = False
    db.session.commit()
    assert client.get(f"/p/newsletter/{newsletter.public_key}").status_code == 410
    response = client.post(
        f"/p/newsletter/{newsletter.public_key}",
        data={"email": "anna@example.org", "form_token": token},
    )
    assert response.status_code == 410 and not subscriptions(db)


def test_newsletter_contacts_are_no_cases(client, db, newsletter, build):
    company = build.company(name="Zweite GmbH")
    falling = _decliner(build, company)
    sign_up(client, newsletter, "nur-newsletter@example.org")
    client.post(confirm_link(db, "nur-newsletter@example.org"))
    run_analysis()
    assert {c.customer_id for c in db.session.scalars(select(Case))} == {falling.id}


def test_expiry_job_deletes_old_pending_sign_ups_and_their_lone_contacts(
    client, db, newsletter, build
):
    customer = build.customer(email="kunde@example.org")
    for address in ("alt@example.org", "kunde@example.org", "bestaetigt@example.org"):
        sign_up(client, newsletter, address)
    client.post(confirm_link(db, "bestaetigt@example.org"))
    assert expire_signups(utcnow() + timedelta(hours=47)) == 0
    assert expire_signups(utcnow() + timedelta(hours=49)) == 2
    db.session.expire_all()
    (left,) = subscriptions(db)
    assert left.status == "confirmed"
    emails = set(db.session.scalars(select(Customer.email)))
    assert emails == {"bestaetigt@example.org", customer.email}
    assert all(m.customer_id is None for m in mails(db, "alt@example.org"))


def test_admin_sets_up_a_newsletter_and_sees_the_snippets_and_proof(client, db, login_as, build):
    company = build.company(sender_email="post@gartenwelt.example")
    group = ContactGroup(name="Stammkunden")
    db.session.add(group)
    db.session.commit()
    login_as("admin", locale="de")
    url = f"/admin/newsletters/group/{group.id}"
    page = client.get(url).get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(page),
        "name": "Stammkunden-Post",
        "description": "Angebote für Stammkunden",
        "company_id": str(company.id),
        "double_opt_in": "y",
        "confirm_text": "Danke!",
        "field_first_name": "y",
        "expire_hours": "24",
    }
    bad = client.post(url, data={**data, "expire_hours": "0", "name": ""})
    assert bad.status_code == 400 and "Name: Bitte" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Newsletter.id))) == 0
    saved = client.post(url, data=data, follow_redirects=True)
    html = saved.get_data(as_text=True)
    newsletter = db.session.scalar(select(Newsletter))
    assert (newsletter.name, newsletter.company_id, newsletter.expire_hours) == (
        "Stammkunden-Post",
        company.id,
        24,
    )
    assert newsletter.form_fields == {"salutation": False, "first_name": True, "last_name": False}
    assert f"/p/newsletter/{newsletter.public_key}?embed=1" in html
    assert "&lt;iframe" in html and "name=&#34;form&#34; value=&#34;snippet&#34;" in html
    sign_up(client, newsletter, "anna@example.org")  # public: the admin's session changes nothing
    proof = client.get(f"/admin/newsletters/{newsletter.id}/subscribers").get_data(as_text=True)
    assert "anna@example.org" in proof and "127.0.0.1" in proof
    assert "Angebote für Stammkunden" in proof and "wartet auf Bestätigung" in proof


def test_sales_cannot_open_the_newsletter_admin(client, db, login_as, newsletter):
    login_as("sales")
    for url in (
        "/admin/newsletters",
        f"/admin/newsletters/group/{newsletter.group_id}",
        f"/admin/newsletters/{newsletter.id}/subscribers",
    ):
        assert client.get(url).status_code == 403

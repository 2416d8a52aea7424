"""A sign-up form's contact meets the WaWi customer of its address (issue 15): a later
CSV import merges them – subscription, consent proof, membership, do-not-contact record
and mails move to the customer; the contact stays marked merged; nothing is lost, nothing
doubles, and the links of mails sent to the contact still work."""

from __future__ import annotations

from sqlalchemy import select

from recovery.models import (
    Customer,
    DoNotContact,
    GroupMember,
    GroupMemberChange,
    Message,
    NewsletterSubscription,
    utcnow,
)
from recovery.sources.sync import run_sync
from tests.app.test_newsletters import (
    UNSUBSCRIBE_RE,
    confirm_link,
    mails,
    make_newsletter,
    sign_up,
)
from tests.app.test_sync import GOOD_LINES, count, csv_connector, german_csv

# K-1001 Jürgen (juergen@example.de) and K-1002 Sabine (sabine@example.de) from the export.


def _customer(db, **where) -> Customer:
    db.session.expire_all()
    stmt = select(Customer)
    for key, value in where.items():
        stmt = stmt.where(getattr(Customer, key) == value)
    return db.session.scalars(stmt).one()


def _rows(db, model, customer_id) -> list:
    return db.session.scalars(select(model).where(model.customer_id == customer_id)).all()


def test_an_import_merges_the_sign_up_contacts_into_the_customers(client, db, build, tmp_path):
    newsletter = make_newsletter(db, build)
    sign_up(client, newsletter, "Juergen@Example.de", first_name="Jürgen", salutation="mr")
    client.post(confirm_link(db, "juergen@example.de"))  # confirmed: a member of the group
    sign_up(client, newsletter, "sabine@example.de", salutation="ms")  # waits for the link
    sign_up(client, newsletter, "neu@example.org")  # nobody in the export has this address
    juergen_contact = _customer(db, email="juergen@example.de", source="newsletter")
    sabine_contact = _customer(db, email="sabine@example.de", source="newsletter")
    before = {
        model: count(db, model)
        for model in (NewsletterSubscription, GroupMember, GroupMemberChange, Message)
    }

    run_sync(csv_connector(db, german_csv(tmp_path / "export.csv")))

    juergen = _customer(db, external_id="K-1001")
    (sub,) = _rows(db, NewsletterSubscription, juergen.id)
    assert (sub.status, sub.source, sub.form, sub.signup_ip) == (
        "confirmed",
        "form",
        "page",
        "127.0.0.1",
    )
    assert sub.confirmed_at is not None and "Gartenpost" in sub.text_shown
    (member,) = _rows(db, GroupMember, juergen.id)
    assert (member.group_id, member.source) == (newsletter.group_id, "form")
    assert [c.change for c in _rows(db, GroupMemberChange, juergen.id)] == ["added"]
    assert [m.purpose for m in _rows(db, Message, juergen.id)] == ["confirmation"]
    assert juergen.salutation == "mr"  # from the form; the export has none
    contact = _customer(db, id=juergen_contact.id)
    assert (contact.merged_into_id, contact.email) == (juergen.id, None)
    for model in (NewsletterSubscription, GroupMember, GroupMemberChange, Message):
        assert _rows(db, model, contact.id) == []
    assert {model: count(db, model) for model in before} == before  # nothing lost or doubled
    assert _customer(db, email="neu@example.org").merged_into_id is None

    # Sabine's confirmation link, mailed to the contact, confirms the customer's subscription.
    sabine = _customer(db, external_id="K-1002")
    assert _customer(db, id=sabine_contact.id).merged_into_id == sabine.id
    done = client.post(confirm_link(db, "sabine@example.de"))
    assert "Ihr Abonnement ist bestätigt" in done.get_data(as_text=True)
    db.session.expire_all()
    assert [s.status for s in _rows(db, NewsletterSubscription, sabine.id)] == ["confirmed"]
    assert [m.source for m in _rows(db, GroupMember, sabine.id)] == ["form"]
    assert _rows(db, GroupMember, sabine_contact.id) == []

    # A second import finds nothing more to merge.
    run_sync(csv_connector(db, german_csv(tmp_path / "again.csv"), name="second"), full=True)
    assert count(db, NewsletterSubscription) == before[NewsletterSubscription]
    assert count(db, Customer, source="newsletter") == 3


def test_an_unsubscribe_link_mailed_to_the_contact_unsubscribes_the_customer(
    client, db, build, tmp_path
):
    newsletter = make_newsletter(db, build)
    sign_up(client, newsletter, "juergen@example.de")
    client.post(confirm_link(db, "juergen@example.de"))
    sign_up(client, newsletter, "juergen@example.de")  # again: "you are subscribed already"
    notice = mails(db, "juergen@example.de")[-1]
    link = "/p/unsubscribe/" + UNSUBSCRIBE_RE.search(notice.body).group(1)
    run_sync(csv_connector(db, german_csv(tmp_path / "export.csv")))
    juergen = _customer(db, external_id="K-1001")
    client.post(link, data={"scope": "all"})
    db.session.expire_all()
    assert db.session.get(Customer, juergen.id).blocked_channels() == {"email": "unsubscribed"}
    assert [s.status for s in _rows(db, NewsletterSubscription, juergen.id)] == ["unsubscribed"]


def test_where_both_have_a_row_the_customer_keeps_one_with_the_others_proof(
    client, db, build, tmp_path
):
    """The customer came in first without an address, was subscribed and blocked by hand;
    the address arrives with a later import, the contact signed up in between."""
    newsletter = make_newsletter(db, build, double_opt_in=False)
    export = tmp_path / "export.csv"
    german_csv(export, lines=[line.replace("Juergen@Example.de", "") for line in GOOD_LINES[:1]])
    connector = csv_connector(db, export)
    run_sync(connector)
    juergen = _customer(db, external_id="K-1001")
    assert juergen.email is None
    db.session.add_all(
        [
            NewsletterSubscription(
                newsletter_id=newsletter.id,
                customer_id=juergen.id,
                status="unsubscribed",
                source="hand",
                form="hand",
                signed_up_at=utcnow().replace(year=2024),
                unsubscribed_at=utcnow().replace(year=2024),
            ),
            GroupMember(group_id=newsletter.group_id, customer_id=juergen.id, source="hand"),
            DoNotContact(
                customer_id=juergen.id,
                channel="email",
                reason="manual",
                created_at=utcnow().replace(year=2024),
            ),
        ]
    )
    db.session.commit()
    sign_up(client, newsletter, "juergen@example.de")  # a contact: the customer has no address
    contact = _customer(db, email="juergen@example.de", source="newsletter")
    db.session.add(DoNotContact(customer_id=contact.id, channel="email", reason="hard_bounce"))
    db.session.commit()

    german_csv(export, lines=GOOD_LINES[:1])  # the WaWi now has the address
    run_sync(connector, full=True)

    juergen = _customer(db, external_id="K-1001")
    (sub,) = _rows(db, NewsletterSubscription, juergen.id)
    assert (sub.status, sub.source) == ("confirmed", "form")  # the more recent consent
    assert [h["form"] for h in sub.history] == ["hand"]  # the older one's proof kept
    (member,) = _rows(db, GroupMember, juergen.id)
    assert member.source == "hand"
    (block,) = _rows(db, DoNotContact, juergen.id)
    assert block.reason == "hard_bounce"
    assert [h["reason"] for h in block.history] == ["manual", "hard_bounce"]
    assert count(db, NewsletterSubscription) == 1 and count(db, GroupMember) == 1
    assert count(db, DoNotContact) == 1
    assert _customer(db, id=contact.id).merged_into_id == juergen.id

"""The case page (Q3): orders, chart, consent, history and the SMS text it shows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from babel.dates import format_date
from sqlalchemy import event

from recovery.models import CaseEvent, DoNotContact, Message, OrderLine, utcnow
from recovery.models.message import GroupMessageTexts


def _page(client, case) -> str:
    response = client.get(f"/case/{case.id}?list=decline")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _orders_of(build, customer, count: int, start: datetime, step: timedelta, net: str):
    return [build.order(customer, start - i * step, net) for i in range(count)]


def test_many_orders_the_latest_60_listed_all_counted_and_charted(client, login_as, build):
    login_as("sales", locale="en")
    customer = build.customer()
    latest = _orders_of(build, customer, 60, utcnow() - timedelta(hours=1), timedelta(days=1), "10")
    # Five older orders on one day of a month of their own: not listed, but charted.
    old_day = datetime.combine((utcnow() - timedelta(days=300)).date(), time(12), UTC)
    _orders_of(build, customer, 5, old_day, timedelta(minutes=5), "7.00")
    html = _page(client, build.case(customer))

    assert '<small class="muted">65</small>' in html
    assert "Showing the latest 60 orders." in html
    assert re.findall(r"<summary>(A\d+)</summary>", html) == [o.number for o in latest]
    month = format_date(old_day.date(), "MMM yyyy", locale="en")
    assert f"<title>{month}: €35.00</title>" in html


def test_a_few_orders_with_lines_links_and_companies(client, login_as, build):
    login_as("sales", locale="en")
    company = build.company("Hof & Feld")
    customer = build.customer()
    older = build.order(customer, utcnow() - timedelta(days=90), "120.50", "Dünger", company)
    newer = build.order(customer, utcnow() - timedelta(days=30), "80.00", "Saatgut")
    html = _page(client, build.case(customer))

    assert '<small class="muted">2</small>' in html
    assert "Showing the latest" not in html
    assert re.findall(r"<summary>(A\d+)</summary>", html) == [newer.number, older.number]
    assert "<td>Hof &amp; Feld</td>" in html  # the older order's company
    assert "<td>–</td>" in html  # the newer one has none
    assert f"<td>{older.lines[0].sku}</td><td>Tomatensamen</td><td>Dünger</td>" in html


def test_a_cancelled_position_is_shown_as_cancelled(client, login_as, build, db):
    login_as("sales")
    customer = build.customer()
    order = build.order(customer, utcnow() - timedelta(days=30), "120.50", "Dünger")
    order.lines.append(
        OrderLine(
            line_no=2, sku="STORNO-1", product_name="Gießkanne", net_amount=9, state="cancelled"
        )
    )
    db.session.commit()
    html = _page(client, build.case(customer))

    cancelled = re.search(r'<tr class="own-state">(.*?)</tr>', html, re.S)
    assert cancelled and "STORNO-1" in cancelled.group(1) and "storniert" in cancelled.group(1)
    assert html.count('<tr class="own-state">') == 1  # the live line is shown as before


def test_consent_history_notes_and_messages(client, login_as, build, db):
    user = login_as("sales", locale="en", name="Sven Sales")
    customer = build.customer(mobile=None)
    build.order(customer, utcnow() - timedelta(days=40))
    case = build.case(customer)
    db.session.add_all(
        [
            DoNotContact(customer_id=customer.id, channel="email", reason="unsubscribed"),
            CaseEvent(case_id=case.id, kind="opened", created_at=utcnow() - timedelta(days=2)),
            CaseEvent(case_id=case.id, user_id=user.id, kind="offer", text="Seeds -10 %"),
            CaseEvent(case_id=case.id, user_id=user.id, kind="note", text="Call back in May"),
            Message(
                customer_id=customer.id,
                channel="email",
                purpose="queue",
                to_address=customer.email,
                state="sent",
            ),
        ]
    )
    db.session.commit()
    html = _page(client, case)

    assert '<span class="warn">unsubscribed</span>' in html
    assert '<span class="warn">no mobile number</span>' in html
    assert "<strong>System</strong> case opened</li>" in html
    assert "<strong>Sven Sales</strong> requested an offer: Seeds -10 %</li>" in html
    assert "added a note" not in html  # notes have their own card
    assert re.search(
        r'<strong>Sven Sales</strong> <time>[^<]+</time></div><div class="note-text">'
        r"Call back in May</div>",
        html,
    )
    assert f"Message Email → {customer.email}" in html


def test_sms_form_starts_with_the_groups_first_text(client, login_as, build, db):
    login_as("sales", locale="en")
    customer = build.customer(mobile="0171 1234567")
    build.order(customer, utcnow() - timedelta(days=40), group="Dünger")
    group = build.group("Dünger")
    db.session.add(GroupMessageTexts(product_group_id=group.id, first_sms_text="Hallo {{vorname}}"))
    db.session.commit()
    key = f"overdue:{group.id}"
    html = _page(client, build.case(customer, key=key, kind="overdue", product_group_id=group.id))

    assert re.search(r'<textarea[^>]*name="text"[^>]*>\s*Hallo \{\{vorname\}\}</textarea>', html)


def test_statements_do_not_grow_with_the_orders(app, client, login_as, build, db):
    """No statement per order or line: a customer with 65 orders costs the page one
    statement more than one with two (the chart's orders beyond the listed 60)."""
    login_as("sales")
    few, many = build.customer(), build.customer()
    _orders_of(build, few, 2, utcnow(), timedelta(days=1), "10")
    _orders_of(build, many, 65, utcnow(), timedelta(days=1), "10")
    cases = build.case(few), build.case(many)
    counts = []
    for case in cases:
        statements = []

        def count(*args, statements=statements):
            statements.append(args[2])

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            _page(client, case)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[1] <= counts[0] + 1, counts


def test_only_the_templates_the_company_has_are_offered(client, login_as, build, db):
    login_as("sales")
    standard_only = build.company("Nur Standard", standard_template_id=101)
    customer = build.customer()
    build.order(customer, utcnow() - timedelta(days=30), "50.00", "Dünger", standard_only)
    html = _page(client, build.case(customer, standard_only))
    select = html[
        html.index('name="template_kind"') : html.index(
            "</select>", html.index('name="template_kind"')
        )
    ]
    assert 'value="standard"' in select and 'value="voucher"' not in select
    standard_only.voucher_template_id = 202
    db.session.commit()
    html = _page(client, build.case(build.customer(), standard_only))
    select = html[
        html.index('name="template_kind"') : html.index(
            "</select>", html.index('name="template_kind"')
        )
    ]
    assert 'value="standard"' in select and 'value="voucher"' in select


def test_the_sms_box_is_labelled_and_names_the_appended_notice(client, login_as, build):
    login_as("sales")
    customer = build.customer(mobile="+4917155501234")
    html = _page(client, build.case(customer))
    assert '<label class="field-label" for="sms-text">SMS-Text</label>' in html
    assert 'id="sms-text"' in html
    notice = re.search(r'<span class="notice-text">([^<]+)</span>', html).group(1)
    assert notice.startswith("Abmelden: http") and "/p/unsubscribe/" in notice
    assert "Wird jeder SMS angehängt:" in html


def test_the_history_is_one_list_newest_first(client, login_as, build, db):
    user = login_as("sales")
    customer = build.customer()
    case = build.case(customer)
    now = utcnow()
    db.session.add_all(
        [
            CaseEvent(case_id=case.id, kind="note", text="x", user_id=user.id),
            CaseEvent(case_id=case.id, kind="opened", created_at=now - timedelta(days=3)),
            CaseEvent(case_id=case.id, kind="remind", user_id=user.id,
                      created_at=now - timedelta(days=1)),
            Message(customer_id=customer.id, case_id=case.id, channel="email", purpose="queue",
                    to_address="a@b.example", state="outbox",
                    created_at=now - timedelta(days=2)),
        ]
    )  # fmt: skip
    db.session.commit()
    html = _page(client, case)
    history = html[
        html.index('<ul class="history">') : html.index("</ul>", html.index('<ul class="history">'))
    ]
    order = [history.index(word) for word in ("Erinnerung", "Nachricht", "Fall eröffnet")]
    assert order == sorted(order), history


def test_the_churn_probability_never_claims_certainty_and_says_its_band(
    client, login_as, build, db
):
    user = login_as("sales")
    company = build.company()
    shown = {
        1.0: ("über 99 %", "sehr wahrscheinlich", "over 99 %", "very likely"),
        0.995: ("über 99 %", "sehr wahrscheinlich", "over 99 %", "very likely"),
        0.62: ("62,0 %", "wahrscheinlich", "62.0 %", "likely"),
        0.004: ("unter 1 %", "offen", "under 1 %", "uncertain"),
        0.0: ("unter 1 %", "offen", "under 1 %", "uncertain"),
    }
    cases = {p: build.case(build.customer(), company, p_churn=p) for p in shown}
    for locale, first in (("de", 0), ("en", 2)):
        user.locale = locale
        db.session.commit()
        for p, texts in shown.items():
            html = _page(client, cases[p])
            figure = html.split(
                "Abwanderungswahrscheinlichkeit" if locale == "de" else "Churn probability"
            )[1]
            figure = re.sub(r"\s+", " ", figure.split("</dd>")[0]).replace("\xa0", " ")
            assert f'<dd>{texts[first]} <span class="muted">({texts[first + 1]})</span>' in figure
            assert "100,0" not in figure and "0,0 %" not in figure and "100.0" not in figure

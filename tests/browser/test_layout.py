"""Every main page fits a 1366×768 screen (and 1920×1080) without scrolling the page
sideways, and no text is smaller than 12 px – in German and in English."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from recovery.models import CaseEvent, JobRun, Message, utcnow
from tests.browser.conftest import SHOTS, choose_language, log_in
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser

# The widest box and the smallest text of the page, as the browser lays it out.
MEASURE = """() => {
  const page = document.documentElement;
  let smallest = 99, where = "";
  for (const el of document.querySelectorAll("body *")) {
    if (!el.offsetParent && el.tagName !== "BODY") continue;  // not shown
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < smallest) {
      smallest = size;
      where = `${el.tagName}.${el.className}: ${el.textContent.trim().slice(0, 40)}`;
    }
  }
  let spill = "";
  for (const box of document.querySelectorAll(".card, .tile")) {
    if (box.scrollWidth > box.clientWidth + 1) {
      spill = `${box.className}: ${box.scrollWidth - box.clientWidth} px`;
    }
  }
  return { overflow: page.scrollWidth - page.clientWidth, smallest, where, spill };
}"""


def _seed(build, db):
    company = build.company(
        "Gartenwelt Müller GmbH & Co. KG Niederlassung Süd",
        sender_email="service@gartenwelt.example",
        standard_template_id=6100001,
        voucher_template_id=6100002,
    )
    group = build.group("Rasen- und Gartenpflege")
    cases = []
    for i in range(12):
        customer = build.customer(
            last_name=f"Müller-Lüdenscheidt-Weißenfels {i}",
            company_name="Blumenhaus Sonnenschein und Söhne Landschaftsgärtnerei GmbH",
            number=f"K-{100000 + i}",
            customer_group="Großhändler Premium Plus",
        )
        build.order(customer, utcnow() - timedelta(days=150), "12345.67", group.name, company)
        cases.append(
            build.case(customer, company, revenue_at_risk=Decimal(99999 - i), p_churn=0.995)
        )
    db.session.add(CaseEvent(case_id=cases[0].id, kind="note", text="Ruft im Mai zurück"))
    db.session.add(
        Message(customer_id=cases[0].customer_id, case_id=cases[0].id, company_id=company.id,
                channel="email", purpose="queue", to_address="a@b.example", state="outbox")
    )  # fmt: skip
    db.session.add(_backtest_job())
    db.session.commit()
    return cases[0], company, group


def _backtest_job() -> JobRun:
    """A finished backtest with every table of its page filled (the tiny history of the
    analysis tests, its rankings set to numbers a real shop shows)."""
    from recovery.analysis import backtest
    from tests.analysis.test_backtest import AS_OF, history

    result = backtest(history(), AS_OF, horizon_days=90).to_dict()
    keys = ("top10_future", "top20_future", "top10_lost", "top20_lost")
    for row in result["ranking"]:
        row.update(zip(keys, (0.589, 0.745, 0.3, 0.42), strict=True))
    result["model"].update(calibrated=True, time_split={"calibrator": {"kind": "scaling"}})
    return JobRun(kind="backtest", state="done", result=result)


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_pages_fit_the_screen_and_no_text_is_below_12px(browser, live_server, build, db, size):
    case, company, group = _seed(build, db)
    admin = make_user("admin", name="Anna Admin")
    pages = [
        "/", "/list/decline", f"/case/{case.id}?list=decline", "/reminders", "/reconnect/",
        "/reconnect/results",
        "/groups/", "/overview/", "/admin/", "/admin/connectors", "/admin/connectors/new?kind=csv",
        "/admin/outbox", "/admin/jobs", "/admin/companies", f"/admin/companies/{company.id}",
        "/admin/product-groups", f"/admin/product-groups/{group.id}", "/admin/actions",
        "/admin/analysis", "/admin/backtest", "/admin/users", "/account/password",
        f"/admin/backtest?job={db.session.scalars(select(JobRun.id)).one()}",
    ]  # fmt: skip
    problems = []
    for locale in ("de-DE", "en-US"):
        context = browser.new_context(
            base_url=live_server, locale=locale, viewport={"width": size[0], "height": size[1]}
        )
        page = context.new_page()
        log_in(page, admin.email, PASSWORD)
        page.wait_for_selector(".topbar")
        if locale == "en-US":
            choose_language(page, "en")
        for url in pages:
            page.goto(url)
            # folded parts open, as a user opens them (the Mailjet variables, job details)
            page.evaluate(
                "() => document.querySelectorAll('details').forEach((d) => d.open = true)"
            )
            found = page.evaluate(MEASURE)
            if found["overflow"] > 0:
                problems.append(f"{locale} {size} {url}: {found['overflow']} px too wide")
            if size == (1366, 768):  # every page at the smaller size, to be looked at
                name = url.replace("?job=", "-result").split("?")[0].strip("/")
                name = name.replace("/", "-") or "home"
                page.screenshot(path=str(SHOTS / f"layout-{locale[:2]}-{name}.png"))
            if found["spill"]:
                problems.append(f"{locale} {size} {url}: spills out of {found['spill']}")
            if found["smallest"] < 12:
                problems.append(
                    f"{locale} {size} {url}: {found['smallest']} px text ({found['where']})"
                )
        context.close()
    assert not problems, "\n".join(problems)

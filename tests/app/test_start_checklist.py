"""First run: with no data an admin sees a start checklist instead of six zeros; each
step links to its page and is ticked when done; once all are done it is gone for good."""

from __future__ import annotations

from datetime import timedelta

from recovery.models import Setting, utcnow
from recovery.queue.checklist import DONE_SETTING
from tests.conftest import csrf_from, make_user


def _steps(html: str) -> dict[str, bool]:
    part = html[html.index('class="checklist"') : html.index("</ol>")]
    titles = {
        "source": "Shop oder WaWi verbinden",
        "analysis": "Analyse starten",
        "templates": "E-Mail-Vorlagen einer Firma einrichten",
        "team": "Ihr Team einladen",
    }
    found = {}
    for key, title in titles.items():
        item = part[part.rindex("<li", 0, part.index(title)) : part.index(title)]
        found[key] = 'class="done"' in item
    return found


def test_a_new_installation_shows_the_checklist_until_every_step_is_done(
    client, db, build, login_as, run_jobs
):
    login_as("admin")
    html = client.get("/").get_data(as_text=True)
    assert "Erste Schritte" in html and 'class="tiles"' not in html  # no six zeros
    assert _steps(html) == dict.fromkeys(("source", "analysis", "templates", "team"), False)
    assert 'href="/admin/connectors"' in html and 'href="/admin/users"' in html

    company = build.company("Gartenwelt GmbH")
    customer = build.customer()
    build.order(customer, utcnow() - timedelta(days=30), "100.00", "Saatgut", company)
    html = client.get("/").get_data(as_text=True)
    assert _steps(html)["source"] and 'class="tiles"' in html  # data: the tiles are back
    page = client.get("/admin/analysis").get_data(as_text=True)
    client.post("/admin/analysis/run", data={"csrf_token": csrf_from(page)})
    assert run_jobs() == 1
    company.standard_template_id = 4711
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert _steps(html) == {"source": True, "analysis": True, "templates": True, "team": False}
    make_user("sales")
    html = client.get("/").get_data(as_text=True)
    assert "Erste Schritte" not in html
    assert Setting.read(DONE_SETTING) == {"done": True}
    make_user("sales").is_active_user = False  # later changes do not bring it back
    db.session.commit()
    assert "Erste Schritte" not in client.get("/").get_data(as_text=True)


def test_a_sales_user_on_an_empty_installation_is_told_who_sets_it_up(client, login_as):
    login_as("sales")
    html = client.get("/").get_data(as_text=True)
    assert "Noch keine Kunden: Ein Administrator" in html
    assert "Erste Schritte" not in html and 'class="tiles"' not in html

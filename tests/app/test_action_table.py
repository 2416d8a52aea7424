"""The case page's action table: every entry is a button on the page and a working route."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale

from recovery.cases.action_table import BY_NAME, CASE_ACTIONS
from recovery.models import Case, CaseEvent
from tests.app.test_queue import _act, _case, _company

# What each action is sent with; a new entry in the table needs its line here.
VALID_INPUT = {
    "email": {"template_kind": "standard"},
    "sms": {"text": "Hallo, 10 % Rabatt!"},
    "remind": {"days": "10"},
    "offer": {"text": "20 Sack Rasendünger"},
    "no-interest": {"text": "hat einen anderen Lieferanten"},
    "note": {"text": "Ruft nächste Woche zurück"},
}


def _german(app, text) -> str:
    with app.test_request_context(), force_locale("de"):
        return str(text)


def _form(html: str, case: Case, name: str) -> str:
    start = html.index(f'action="/case/{case.id}/{name}?')
    return html[html.rfind("<form", 0, start) : html.index("</form>", start)]


def test_the_table_names_each_action_once():
    assert [a.name for a in CASE_ACTIONS] == list(BY_NAME)
    assert set(VALID_INPUT) == set(BY_NAME)
    shortcuts = [a.shortcut for a in CASE_ACTIONS if a.shortcut]
    assert len(shortcuts) == len(set(shortcuts)) and "n" not in shortcuts  # N: next customer


def test_every_action_is_a_button_with_its_label_and_shortcut(app, client, login_as, build):
    login_as("sales")
    case = _case(build, _company(build, sms_sender="Gartenwelt"), mobile="0171 2345678")
    html = client.get(f"/case/{case.id}?list=decline").get_data(as_text=True)
    forms = re.findall(r'<form method="post" action="/case/\d+/([a-z-]+)\?', html)
    assert forms == [a.name for a in CASE_ACTIONS]
    for action in CASE_ACTIONS:
        form = _form(html, case, action.name)
        key = (action.shortcut or "").upper()
        shortcut = (
            f' data-shortcut="{action.shortcut}" title="Tastenkürzel: {key}"'
            f' aria-keyshortcuts="{key}"'
            if action.shortcut
            else ""
        )
        button = f'<button class="{action.style}"{shortcut} >{_german(app, action.label)}</button>'
        assert button in form, action.name
        assert 'name="token"' in form


@pytest.mark.parametrize("action", CASE_ACTIONS, ids=lambda a: a.name)
def test_the_route_runs_each_actions_service(app, client, login_as, build, db, action):
    user = login_as("sales")
    case = _case(build, _company(build, sms_sender="Gartenwelt"), mobile="0171 2345678")
    response, fields = _act(client, case, action.name, **VALID_INPUT[action.name])
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"done={action.name}")
    event = db.session.query(CaseEvent).filter_by(form_token=fields["token"]).one()
    assert event.case_id == case.id and event.user_id == user.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert _german(app, action.flash) in page


def test_an_action_not_in_the_table_is_not_found(client, login_as, build):
    login_as("sales")
    case = _case(build, _company(build))
    _, fields = _act(client, case, "note", text="x")
    assert client.post(f"/case/{case.id}/call?list=decline", data=fields).status_code == 404

"""What a German reader sees: no page shows a text of the catalogue in English.

tests/test_translations.py checks the catalogue; this renders the pages in German and
looks for any text node (or title, placeholder, label attribute) that is exactly a
catalogue message id whose German differs, i.e. a marked text that reached the page
untranslated (translated too early, in the wrong language, or bypassing gettext).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po

from tests.messaging.messaging_fixtures import case_for, queue_emails

CATALOGUE = Path(__file__).parents[2] / "translations" / "de" / "LC_MESSAGES" / "messages.po"
ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
SKIPPED = ("static", "auth.logout", "auth.set_locale")


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.texts += [v.strip() for k, v in attrs if k in ATTRIBUTES and v]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))


def english_ids() -> set[str]:
    """Message ids whose German reads differently (so the English on a page is a leak)."""
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f)
    return {
        m.id
        for m in catalogue
        if isinstance(m.id, str) and m.id and m.string and m.string != m.id and len(m.id) > 3
    }


def pages(app) -> list[str]:
    """Every page a signed-in user opens without parameters."""
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and not rule.arguments
        and not rule.endpoint.startswith(SKIPPED)
        and not rule.rule.startswith("/p/")
    )


def test_german_pages_show_no_english_catalogue_text(app, db, build, client, login_as):
    case = case_for(build)
    queue_emails(app, [case])
    login_as("admin")
    urls = pages(app) + [f"/case/{case.id}"]
    english = english_ids()
    leaks = {}
    for url in urls:
        response = client.get(url, headers={"Accept-Language": "de"})
        if response.status_code != 200 or response.mimetype != "text/html":
            response.close()  # a file sent (the favicon) is closed now, not by the GC
            continue
        parser = _Texts()
        parser.feed(response.get_data(as_text=True))
        found = sorted({t for t in parser.texts if t in english})
        if found:
            leaks[url] = found
    assert len(urls) > 12
    assert leaks == {}, leaks

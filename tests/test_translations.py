"""The German catalogue: every text the code and templates show has a German translation,
addresses the user with "Sie", and the catalogue carries no texts the code no longer uses."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "translations" / "de" / "LC_MESSAGES" / "messages.po"
# Informal German ("du") in any of its forms; the product says "Sie". Pronouns and verb
# forms in any case; imperatives lowercase, or capitalised where a sentence starts with them
# ("Lass die …", but not the nouns "Suche" or "Versuche" standing alone).
IMPERATIVES = (
    "lass|warte|korrigiere|lade|versuche|prüfe|wähle|gib|trage|starte|öffne|nimm|setze|"
    "nutze|speichere|melde|klicke|gehe|lege|füge|ändere|lösche|schreibe|beschreibe|verwende|"
    "wende|frage|entferne|erstelle|wiederhole|bestätige|markiere|wechsle"
)
INFORMAL = re.compile(
    r"(?i:\b(du|dich|dir|dein\w*|bist|hast|kannst|musst|willst|darfst|sollst|brauchst)\b)"
    rf"|\b({IMPERATIVES})\b"
    rf"|(?:^|[.;:!?]\s+)({IMPERATIVES.title()})\s+[a-zäöü]"
)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set[str]:
    pot = tmp_path_factory.mktemp("babel") / "messages.pot"
    subprocess.run(
        [sys.executable, "-c", "from babel.messages.frontend import main; main()",
         "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}


@pytest.fixture(scope="module")
def german():
    with CATALOGUE.open("rb") as f:
        return {(m.id if isinstance(m.id, str) else m.id[0]): m for m in read_po(f) if m.id}


def _texts(message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string)


def test_the_extraction_finds_the_texts(extracted):
    # _(), templates, _l(), and wawi_connectors' N_() (one of Babel's default keywords)
    assert {"Revenue decline", "Next customer", "queued", "Time zone"} <= extracted


def test_every_text_has_a_german_translation(extracted, german):
    missing = sorted(t for t in extracted if t not in german or not all(_texts(german[t])))
    assert missing == []


def test_the_catalogue_holds_no_texts_the_code_no_longer_uses(extracted, german):
    assert sorted(set(german) - extracted) == []


def test_german_addresses_the_user_with_sie(german):
    informal = {t: s for t, m in german.items() for s in _texts(m) if INFORMAL.search(s)}
    assert informal == {}

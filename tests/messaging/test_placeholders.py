"""Local placeholders in both spellings, as Mailjet resolves them."""

from __future__ import annotations

from recovery.messaging.placeholders import check, names_used, render

VALUES = {"vorname": "Erika", "name": "Erika Mustermann", "ort": "", "firmenname": "A & B <GmbH>"}


def test_both_spellings_with_and_without_fallback():
    text = 'Hallo {{var:vorname:"Kundin"}}, <<var:name>> aus <<var:ort:"Ihrer Stadt">>{{var:ort}}.'

    assert render(text, VALUES) == "Hallo Erika, Erika Mustermann aus Ihrer Stadt."


def test_spaces_inside_placeholders_are_allowed():
    text = '{{ var : vorname }} / << var:ort : "irgendwo" >> / {{var:nachname :  "Kunde" }}'

    assert render(text, VALUES) == "Erika / irgendwo / Kunde"


def test_unknown_names_take_the_fallback_or_nothing():
    assert render('[{{var:gutschein:"ohne Code"}}][<<var:gutschein>>]', VALUES) == "[ohne Code][]"


def test_html_escapes_values_but_keeps_the_authors_fallback():
    text = '<p>{{var:firmenname}}</p><p>{{var:ort:"<b>Ihr Ort</b>"}}</p>'

    assert render(text, VALUES, html=True) == ("<p>A &amp; B &lt;GmbH&gt;</p><p><b>Ihr Ort</b></p>")
    assert render("{{var:firmenname}}", VALUES) == "A & B <GmbH>"


def test_mismatched_brackets_and_other_text_stay_as_they_are():
    text = "{{var:vorname>> <<var:vorname}} {{data:firstname}} {{ var:vor name }}"

    assert render(text, VALUES) == text


def test_names_used_once_each_in_order():
    text = '<<var:ort>> {{var:vorname}} {{var:ort:"x"}} <<var:gutschein>>'

    assert names_used(text) == ("ort", "vorname", "gutschein")


def test_check_reports_unknown_names_and_those_without_fallback():
    result = check('Hallo {{var:vorname:"Kundin"}}, Code <<var:gutschein>>, {{var:ort}}')

    assert result.used == ("vorname", "gutschein", "ort")
    assert result.unknown == ("gutschein",)
    assert result.without_fallback == ("gutschein", "ort")

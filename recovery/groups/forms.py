"""The group editor's form: the CSRF token by WTForms, the rule fields read as sent
(the rules' own checks name what is wrong, in the user's language)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict


class GroupForm(FlaskForm):
    """Create or edit a group; the fields are in the template, read by rules_from_form."""


class MembersForm(FlaskForm):
    """Adding or removing members: only the CSRF token."""


# Editor field -> (rule type, the rule's key); a rule is used when one of its fields is
# filled in.
LISTS = {"customer_group": "values", "country": "values", "product_groups": "ids", "company": "ids"}
EMPTY = {
    "customer_group": [],
    "country": [],
    "product_groups": [],
    "product_months": "",
    "revenue_min": "",
    "revenue_max": "",
    "last_order_from": "",
    "last_order_to": "",
    "flag": "",
    "company": [],
}


def values_from_form(form: MultiDict) -> dict:
    """What the editor shows again after a preview or a refused save."""
    return {
        key: form.getlist(key) if isinstance(empty, list) else (form.get(key) or "").strip()
        for key, empty in EMPTY.items()
    }


def values_from_rules(rules: list[dict] | None) -> dict:
    values = {k: list(v) if isinstance(v, list) else v for k, v in EMPTY.items()}
    for rule in rules or []:
        kind = rule["type"]
        if kind in LISTS:
            values[kind] = [str(v) for v in rule[LISTS[kind]]]
        if kind == "product_groups":
            values["product_months"] = str(rule.get("months") or "")
        elif kind == "revenue":
            values["revenue_min"] = (rule.get("min") or "").replace(".", ",")
            values["revenue_max"] = (rule.get("max") or "").replace(".", ",")
        elif kind == "last_order":
            values["last_order_from"] = rule.get("from") or ""
            values["last_order_to"] = rule.get("to") or ""
        elif kind == "flag":
            values["flag"] = rule["value"]
    return values


def rules_from_values(values: dict) -> list[dict]:
    """The rules the filled-in fields describe (checked later by the service)."""
    rules: list[dict] = []
    for kind, key in LISTS.items():
        if values[kind] or (kind == "product_groups" and values["product_months"]):
            rule = {"type": kind, key: values[kind]}
            if kind == "product_groups":
                rule["months"] = values["product_months"] or None
            rules.append(rule)
    if values["revenue_min"] or values["revenue_max"]:
        rules.append(
            {"type": "revenue", "min": values["revenue_min"], "max": values["revenue_max"]}
        )
    if values["last_order_from"] or values["last_order_to"]:
        rules.append(
            {"type": "last_order", "from": values["last_order_from"], "to": values["last_order_to"]}
        )
    if values["flag"]:
        rules.append({"type": "flag", "value": values["flag"]})
    return rules

"""What each case copies of its customer, kept exact by the database: the text the
queue's free-text search looks in and the keys the lists sort by.

The search finds cases whose customer's number, name or email contains what was typed.
Looked up among the customers, a common name ("schmidt") matches thousands of the
1 000 000 customers, and each of them must then be checked for an open case – some
25 ms of database time per search. ``recovery_case.search_text`` holds the customer's
searched fields, lower-cased, one per line, on the case itself; a trigram index
(pg_trgm) on it finds the few hundred cases that match (``recovery.cases.lists._search``).

Sorting a list of 200 000 cases by the customer's name, number or group read the
customers in that order and looked up each one's case (name), or sorted all 200 000
rows (number descending, group): 0.4–0.5 s. The case's copies ``sort_name``,
``customer_number`` and ``customer_group`` are in list indexes (models/case.py), so a
page is read in order from an index, in both directions.

Triggers keep the copies exact in the same transaction as every change: a case gets
its customer's values when it is written (COPY included) or moved to another customer
(a case inserted with its copies – the analysis selects them with ``copy_expressions``
from the customer row – skips the insert trigger, a call per row),
and a change of a customer's number, name, email or group rewrites all its cases. The
migration that adds them runs ``FILL`` and ``statements()``; a change needs a migration
that replaces the triggers and fills the columns again. ``tests/app/test_case_copies.py``
checks the copies after every kind of change, on both databases.
"""

from __future__ import annotations

from .case import Case
from .triggers import Triggers

# The searched fields of customer row ``c``.
SEARCHED = ("number", "first_name", "last_name", "company_name", "email")


def expression(c: str) -> str:
    """Number, name (first, last and company name joined by blanks, as the search
    compares it) and email of customer row ``c``, lower-cased, one per line: a search
    without a line break can only match inside one of them."""
    name = " || ' ' || ".join(f"coalesce({c}.{part}, '')" for part in SEARCHED[1:4])
    return f"lower(coalesce({c}.number, '') || '\n' || {name} || '\n' || coalesce({c}.email, ''))"


# Between the parts of the sort name: below every printable character in the byte order
# the databases compare in (C collation, SQLite's BINARY), so "Müller Anna" < "Müller
# Bernd" < "Müllerbach".
SORT_SEPARATOR = "\x01"


def sort_name(c: str) -> str:
    """The name a list sorts by: last name (else company name), then first name, then
    company name, lower-cased."""
    sep = f"'{SORT_SEPARATOR}'"
    return (
        f"lower(coalesce({c}.last_name, {c}.company_name, '') || {sep}"
        f" || coalesce({c}.first_name, '') || {sep} || coalesce({c}.company_name, ''))"
    )


def copy_expressions(c: str) -> list[str]:
    """The SQL of each of ``COPIES`` from customer row ``c``: what the triggers write and
    what a bulk writer (the analysis's INSERT … SELECT) selects instead."""
    return [expression(c), sort_name(c), f"{c}.number", f"{c}.customer_group"]


def _copies(c: str) -> str:
    return ", ".join(copy_expressions(c))


COPIES = ("search_text", "sort_name", "customer_number", "customer_group")
WATCHED = (*SEARCHED, "customer_group")  # the customer's columns the copies are made of
# The triggers (and PostgreSQL's functions) by name, for a migration that replaces them.
DROP = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS recovery_case_search_text ON recovery_case",
        "DROP TRIGGER IF EXISTS recovery_case_search_move ON recovery_case",
        "DROP TRIGGER IF EXISTS customer_search_text ON customer",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS recovery_case_search_insert",
        "DROP TRIGGER IF EXISTS recovery_case_search_move",
        "DROP TRIGGER IF EXISTS customer_search_text",
    ],
}
_TARGET = f"({', '.join(COPIES)})"

FILL = (
    f"UPDATE recovery_case SET {_TARGET} ="
    f" (SELECT {_copies('c')} FROM customer c WHERE c.id = recovery_case.customer_id)"
)

# A writer that selects the copies itself (``copy_expressions``) inserts its cases
# without a trigger call per row: the insert triggers fire only for a case without them.
# search_text and sort_name are never NULL once written (coalesce).
_MISSING = "NEW.search_text IS NULL OR NEW.sort_name IS NULL"

_CHANGED = " OR ".join(f"OLD.{name} IS DISTINCT FROM NEW.{name}" for name in WATCHED)

POSTGRESQL = [
    f"""
CREATE OR REPLACE FUNCTION recovery_case_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT {_copies("c")}
    INTO {", ".join(f"NEW.{name}" for name in COPIES)}
    FROM customer c WHERE c.id = NEW.customer_id;
  RETURN NEW;
END $$""",
    "CREATE TRIGGER recovery_case_search_text BEFORE INSERT ON recovery_case"
    f" FOR EACH ROW WHEN ({_MISSING}) EXECUTE FUNCTION recovery_case_search_text()",
    "CREATE TRIGGER recovery_case_search_move BEFORE UPDATE OF customer_id ON recovery_case"
    " FOR EACH ROW EXECUTE FUNCTION recovery_case_search_text()",
    f"""
CREATE OR REPLACE FUNCTION customer_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE recovery_case SET {_TARGET} = ({_copies("NEW")}) WHERE customer_id = NEW.id;
  RETURN NULL;
END $$""",
    f"CREATE TRIGGER customer_search_text AFTER UPDATE OF {', '.join(WATCHED)} ON customer"
    f" FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION customer_search_text()",
]

_SQLITE_CASE = (
    f"UPDATE recovery_case SET {_TARGET} ="
    f" (SELECT {_copies('c')} FROM customer c WHERE c.id = NEW.customer_id)"
    " WHERE id = NEW.id;"
)
SQLITE = [
    f"CREATE TRIGGER recovery_case_search_insert AFTER INSERT ON recovery_case"
    f" WHEN {_MISSING} BEGIN {_SQLITE_CASE} END",
    f"CREATE TRIGGER recovery_case_search_move AFTER UPDATE OF customer_id ON recovery_case"
    f" BEGIN {_SQLITE_CASE} END",
    f"CREATE TRIGGER customer_search_text AFTER UPDATE OF {', '.join(WATCHED)} ON customer"
    f" WHEN {_CHANGED.replace('IS DISTINCT FROM', 'IS NOT')}"
    f" BEGIN UPDATE recovery_case SET {_TARGET} = ({_copies('NEW')})"
    " WHERE customer_id = NEW.id; END",
]


statements = Triggers(Case.__table__, POSTGRESQL, SQLITE).statements

"""The text the queue's free-text search looks in, kept on each case by the database.

The search finds cases whose customer's number, name or email contains what was typed.
Looked up among the customers, a common name ("schmidt") matches thousands of the
1 000 000 customers, and each of them must then be checked for an open case – some
25 ms of database time per search. ``recovery_case.search_text`` holds the customer's
searched fields, lower-cased, one per line, on the case itself; a trigram index
(pg_trgm) on it finds the few hundred cases that match (``recovery.queue.lists._search``).

Triggers keep the copy exact in the same transaction as every change: a case gets its
customer's text when it is written (COPY included) or moved to another customer, and a
change of a customer's number, name or email rewrites the text of all its cases. The
migration that adds the column runs ``FILL`` and ``statements()``; a change to the text
needs a migration that replaces the triggers and fills the column again.
``tests/app/test_case_search.py`` checks the copy after every kind of change, on both
databases.
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


FILL = (
    "UPDATE recovery_case SET search_text ="
    f" (SELECT {expression('c')} FROM customer c WHERE c.id = recovery_case.customer_id)"
)

_CHANGED = " OR ".join(f"OLD.{name} IS DISTINCT FROM NEW.{name}" for name in SEARCHED)

POSTGRESQL = [
    f"""
CREATE OR REPLACE FUNCTION recovery_case_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.search_text := (SELECT {expression("c")} FROM customer c WHERE c.id = NEW.customer_id);
  RETURN NEW;
END $$""",
    "CREATE TRIGGER recovery_case_search_text BEFORE INSERT OR UPDATE OF customer_id"
    " ON recovery_case FOR EACH ROW EXECUTE FUNCTION recovery_case_search_text()",
    f"""
CREATE OR REPLACE FUNCTION customer_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE recovery_case SET search_text = {expression("NEW")} WHERE customer_id = NEW.id;
  RETURN NULL;
END $$""",
    f"CREATE TRIGGER customer_search_text AFTER UPDATE OF {', '.join(SEARCHED)} ON customer"
    f" FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION customer_search_text()",
]

_SQLITE_CASE = (
    "UPDATE recovery_case SET search_text ="
    f" (SELECT {expression('c')} FROM customer c WHERE c.id = NEW.customer_id)"
    " WHERE id = NEW.id;"
)
SQLITE = [
    f"CREATE TRIGGER recovery_case_search_insert AFTER INSERT ON recovery_case"
    f" BEGIN {_SQLITE_CASE} END",
    f"CREATE TRIGGER recovery_case_search_move AFTER UPDATE OF customer_id ON recovery_case"
    f" BEGIN {_SQLITE_CASE} END",
    f"CREATE TRIGGER customer_search_text AFTER UPDATE OF {', '.join(SEARCHED)} ON customer"
    f" WHEN {_CHANGED.replace('IS DISTINCT FROM', 'IS NOT')}"
    f" BEGIN UPDATE recovery_case SET search_text = {expression('NEW')}"
    " WHERE customer_id = NEW.id; END",
]


statements = Triggers(Case.__table__, POSTGRESQL, SQLITE).statements

"""Deleting a customer or a group deletes its members and their history (and a
customer's order facts), by triggers instead of foreign keys.

``group_member`` and ``group_member_change`` had foreign keys to ``customer`` and
``contact_group`` with ON DELETE CASCADE. On PostgreSQL each key is checked for every
inserted row (an SPI query with a row lock, 12–17 µs per row and key): adding 3.3 M
members to 20 new groups spent 87 % of its time in those checks (bench/groups). The
triggers do the one thing the keys were for – the cascade – once per DELETE statement:

* PostgreSQL: statement-level AFTER DELETE triggers with a transition table on
  ``customer`` and ``contact_group``: one DELETE per table for all deleted rows.
* SQLite: row-level AFTER DELETE triggers (SQLite has no statement triggers). SQLite did
  not enforce the keys in this app (no ``PRAGMA foreign_keys``); now the cascade works
  there too.

What is given up: the database no longer refuses a member row for a customer or group
that does not exist. Rows are only written from existing customers and groups, in the
transaction that locks the group; a customer deleted while an evaluation runs can leave
a row for an id that no longer exists, which no query shows (they all join the
customer). The migration ``c9e4f2a7b1d3`` drops the keys and creates these triggers; a
change to them needs a migration. ``tests/audience/test_group_cascade.py`` checks both.
"""

from __future__ import annotations

from .group import GroupMember
from .triggers import Triggers

# table deleted from -> [(table, column)] whose rows go with it
CASCADES = {
    "customer": [
        ("group_member", "customer_id"),
        ("group_member_change", "customer_id"),
        ("order_fact_customer", "customer_id"),
        ("order_fact_company", "customer_id"),
        ("order_fact_line", "customer_id"),
    ],
    "contact_group": [
        ("group_member", "group_id"),
        ("group_member_change", "group_id"),
    ],
}


def _pg(table: str) -> list[str]:
    deletes = " ".join(
        f"DELETE FROM {target} WHERE {column} IN (SELECT id FROM old_rows);"
        for target, column in CASCADES[table]
    )
    return [
        f"CREATE OR REPLACE FUNCTION {table}_cascade() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN {deletes} RETURN NULL; END $$",
        f"CREATE TRIGGER {table}_cascade AFTER DELETE ON {table}"
        f" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {table}_cascade()",
    ]


def _sqlite(table: str) -> list[str]:
    deletes = " ".join(
        f"DELETE FROM {target} WHERE {column} = OLD.id;" for target, column in CASCADES[table]
    )
    return [f"CREATE TRIGGER {table}_cascade AFTER DELETE ON {table} BEGIN {deletes} END"]


POSTGRESQL = [*_pg("customer"), *_pg("contact_group")]
SQLITE = [*_sqlite("customer"), *_sqlite("contact_group")]

statements = Triggers(GroupMember.__table__, POSTGRESQL, SQLITE).statements


def drop_statements(dialect: str) -> list[str]:
    """What undoes ``statements(dialect)``."""
    if dialect == "postgresql":
        return [
            stmt
            for table in CASCADES
            for stmt in (
                f"DROP TRIGGER IF EXISTS {table}_cascade ON {table}",
                f"DROP FUNCTION IF EXISTS {table}_cascade()",
            )
        ]
    return [f"DROP TRIGGER IF EXISTS {table}_cascade" for table in CASCADES]

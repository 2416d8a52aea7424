"""The references of a case (customer, product group, company, users, recovering order),
kept by triggers instead of foreign keys: checked once per INSERT statement, not once per
row.

``recovery_case`` had six foreign keys. On PostgreSQL each key is checked for every
inserted row by its own trigger call and SPI query (with a row lock on the parent): the
analysis's first run, which opens 26 703 cases at 1 M order lines, spent ~1.2 s of its
~3.5 s of database time in those checks (bench/analysis/README.md). The triggers here
keep what the keys did – on PostgreSQL, the one database that enforced them:

* **a case's reference must exist**: an INSERT checks all its rows at once (a statement
  trigger with the transition table ``new_rows``: the referenced rows are locked
  ``FOR KEY SHARE``, as a foreign key's check locks them, and a missing one is refused
  with the foreign key's error, SQLSTATE 23503); an UPDATE that changes a reference checks
  that row (a row trigger whose ``WHEN`` skips rows whose references stay the same –
  the analysis's nightly update never calls it);
* **deleting a customer deletes its cases** (and by their foreign keys the cases' events,
  viewers, ReConnect contacts; their messages keep no case), one DELETE per statement;
* **deleting an order** sets ``recovered_order_id`` of the cases it recovered to NULL;
* **deleting** a product group, company or user that a case refers to, or changing the
  ``id`` of any referenced row, is refused (SQLSTATE 23503), as the keys refused it.

SQLite never enforced the keys in this app (no ``PRAGMA foreign_keys``); it gets the
delete cascade and the SET NULL as row triggers (as group_cascade.py did for group
members), and no checks, as before.

What is given up: ``TRUNCATE customer`` (or any other referenced table) without
``CASCADE`` is no longer refused and leaves the cases of the truncated rows. The
migration ``d3a8f6c2e1b4`` drops the keys and creates these triggers; a change to them
needs a migration. ``tests/app/test_case_keys.py`` checks every rule on both databases.
"""

from __future__ import annotations

from .case import Case
from .triggers import Triggers

# (the case's column, the table it refers to, what deleting the referenced row does)
REFERENCES = (
    ("customer_id", "customer", "CASCADE"),
    ("product_group_id", "product_group", "NO ACTION"),
    ("company_id", "company", "NO ACTION"),
    ("assigned_user_id", "user_account", "NO ACTION"),
    ("claimed_by_id", "user_account", "NO ACTION"),
    ("recovered_order_id", "customer_order", "SET NULL"),
)
PARENTS = tuple(dict.fromkeys(parent for _, parent, _ in REFERENCES))


def key_name(column: str, parent: str) -> str:
    """The name the foreign key had (its error names it still)."""
    return f"fk_recovery_case_{column}_{parent}"


def _refuse(column: str, parent: str, value: str, action: str) -> str:
    """RAISE as PostgreSQL's foreign key check does; ``value`` is an SQL expression."""
    if action == "insert":
        message = (
            'insert or update on table "recovery_case" violates foreign key constraint'
            f' "{key_name(column, parent)}"'
        )
        detail = f"format('Key ({column})=(%s) is not present in table \"{parent}\".', {value})"
    else:
        message = (
            f'update or delete on table "{parent}" violates foreign key constraint'
            f' "{key_name(column, parent)}" on table "recovery_case"'
        )
        detail = (
            f"format('Key (id)=(%s) is still referenced from table \"recovery_case\".', {value})"
        )
    return (
        f"RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', MESSAGE = '{message}',"
        f" DETAIL = {detail}, TABLE = 'recovery_case',"
        f" CONSTRAINT = '{key_name(column, parent)}';"
    )


def _pg_insert_check() -> list[str]:
    # Per reference: lock the referenced rows the statement names (one join), and
    # compare their number with the number of distinct values named.
    checks = []
    for column, parent, _ in REFERENCES:
        checks.append(
            f"""
  SELECT count(DISTINCT {column}) INTO wanted FROM new_rows WHERE {column} IS NOT NULL;
  IF wanted > 0 THEN
    SELECT count(*) INTO found FROM (
      SELECT 1 FROM {parent} p WHERE p.id IN (SELECT {column} FROM new_rows) FOR KEY SHARE OF p
    ) locked;
    IF found < wanted THEN
      SELECT n.{column} INTO missing FROM new_rows n
        WHERE n.{column} IS NOT NULL AND NOT EXISTS (SELECT FROM {parent} p WHERE p.id = n.{column})
        LIMIT 1;
      {_refuse(column, parent, "missing", "insert")}
    END IF;
  END IF;"""
        )
    return [
        "CREATE OR REPLACE FUNCTION recovery_case_keys_insert() RETURNS trigger"
        # the analysis turns nested loops off for its joins; the transition table's row
        # count is known, so a few new cases look their rows up by index
        " LANGUAGE plpgsql SET enable_nestloop = on AS $$\n"
        "DECLARE wanted bigint; found bigint; missing bigint;\n"
        f"BEGIN{''.join(checks)}\n  RETURN NULL;\nEND $$",
        "CREATE TRIGGER recovery_case_keys_insert AFTER INSERT ON recovery_case"
        " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION recovery_case_keys_insert()",
    ]


def _pg_update_check() -> list[str]:
    checks = "".join(
        f"""
  IF NEW.{column} IS NOT NULL AND NEW.{column} IS DISTINCT FROM OLD.{column} THEN
    PERFORM FROM {parent} WHERE id = NEW.{column} FOR KEY SHARE;
    IF NOT FOUND THEN {_refuse(column, parent, f"NEW.{column}", "insert")} END IF;
  END IF;"""
        for column, parent, _ in REFERENCES
    )
    columns = [column for column, _, _ in REFERENCES]
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
    return [
        "CREATE OR REPLACE FUNCTION recovery_case_keys_update() RETURNS trigger"
        f" LANGUAGE plpgsql AS $$\nBEGIN{checks}\n  RETURN NULL;\nEND $$",
        f"CREATE TRIGGER recovery_case_keys_update AFTER UPDATE OF {', '.join(columns)}"
        f" ON recovery_case FOR EACH ROW WHEN ({changed})"
        " EXECUTE FUNCTION recovery_case_keys_update()",
    ]


def _pg_parent(parent: str) -> list[str]:
    """What deleting rows of ``parent`` (or changing their id) does to the cases."""
    on_delete, on_update = [], []
    for column, table, action in REFERENCES:
        if table != parent:
            continue
        referenced = "SELECT id FROM old_rows"
        if action == "CASCADE":
            on_delete.append(f"DELETE FROM recovery_case WHERE {column} IN ({referenced});")
        elif action == "SET NULL":
            on_delete.append(
                f"UPDATE recovery_case SET {column} = NULL WHERE {column} IN ({referenced});"
            )
        else:
            on_delete.append(
                f"SELECT c.{column} INTO missing FROM recovery_case c"
                f" WHERE c.{column} IN ({referenced}) LIMIT 1;"
                f" IF FOUND THEN {_refuse(column, parent, 'missing', 'delete')} END IF;"
            )
        on_update.append(
            f"IF EXISTS (SELECT FROM recovery_case WHERE {column} = OLD.id) THEN"
            f" {_refuse(column, parent, 'OLD.id', 'delete')} END IF;"
        )
    name = f"{parent}_case_keys"
    return [
        f"CREATE OR REPLACE FUNCTION {name}_delete() RETURNS trigger LANGUAGE plpgsql AS $$"
        f"\nDECLARE missing bigint;\nBEGIN\n  {' '.join(on_delete)}\n  RETURN NULL;\nEND $$",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON {parent}"
        f" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}_delete()",
        f"CREATE OR REPLACE FUNCTION {name}_update() RETURNS trigger LANGUAGE plpgsql AS $$"
        f"\nBEGIN\n  {' '.join(on_update)}\n  RETURN NULL;\nEND $$",
        f"CREATE TRIGGER {name}_update AFTER UPDATE OF id ON {parent}"
        f" FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION {name}_update()",
    ]


def _sqlite() -> list[str]:
    statements = []
    for column, parent, action in REFERENCES:
        if action == "CASCADE":
            body = f"DELETE FROM recovery_case WHERE {column} = OLD.id;"
        elif action == "SET NULL":
            body = f"UPDATE recovery_case SET {column} = NULL WHERE {column} = OLD.id;"
        else:
            continue
        statements.append(
            f"CREATE TRIGGER {parent}_case_keys_delete AFTER DELETE ON {parent} BEGIN {body} END"
        )
    return statements


POSTGRESQL = [
    *_pg_insert_check(),
    *_pg_update_check(),
    *(stmt for parent in PARENTS for stmt in _pg_parent(parent)),
]
SQLITE = _sqlite()

statements = Triggers(Case.__table__, POSTGRESQL, SQLITE).statements


def drop_statements(dialect: str) -> list[str]:
    """What undoes ``statements(dialect)``."""
    if dialect == "postgresql":
        triggers = [
            ("recovery_case_keys_insert", "recovery_case"),
            ("recovery_case_keys_update", "recovery_case"),
            *(
                (f"{parent}_case_keys_{event}", parent)
                for parent in PARENTS
                for event in ("delete", "update")
            ),
        ]
        return [
            stmt
            for name, table in triggers
            for stmt in (
                f"DROP TRIGGER IF EXISTS {name} ON {table}",
                f"DROP FUNCTION IF EXISTS {name}()",
            )
        ]
    if dialect == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {parent}_case_keys_delete"
            for _, parent, action in REFERENCES
            if action != "NO ACTION"
        ]
    return []

"""case references by triggers: the six foreign keys of recovery_case are replaced by
statement-level checks and delete triggers; the copy trigger skips a case inserted with
its copies

Revision ID: d3a8f6c2e1b4
Revises: c9e4f2a7b1d3
Create Date: 2026-12-07 23:00:00.000000

The analysis's first run (every case new) checked six foreign keys and called the copy
trigger once per inserted case (bench/analysis/README.md). PostgreSQL: the keys are
dropped and recovery/models/case_keys.py's triggers keep what they did (an INSERT's
references checked once per statement; a deleted customer's cases deleted, a deleted
order's reference set to NULL, deleting a referenced product group, company or user
refused). SQLite never enforced the keys; they are taken out of the table's definition
in place (SQLite's documented way to drop a foreign key without rebuilding the table,
which would lose its expression indexes and triggers) and the delete triggers added.
The copy triggers (models/copies.py) are replaced: the insert trigger runs only for a
case written without its copies. The downgrade adds the keys again (after deleting or
emptying references to rows that no longer exist) and the old copy triggers.
"""

import re

import sqlalchemy as sa
from alembic import op

from recovery.models import case_keys, copies

# revision identifiers, used by Alembic.
revision = "d3a8f6c2e1b4"
down_revision = "c9e4f2a7b1d3"
branch_labels = None
depends_on = None


def _clause(column, parent, action):
    on_delete = "" if action == "NO ACTION" else f" ON DELETE {action}"
    return (
        f"CONSTRAINT {case_keys.key_name(column, parent)} FOREIGN KEY({column})"
        f" REFERENCES {parent} (id){on_delete}"
    )


def _sqlite_table(change):
    """Rewrite recovery_case's CREATE TABLE in SQLite's schema (no data changes)."""
    conn = op.get_bind()
    sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'recovery_case'"
    ).scalar()
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'recovery_case'",
        (change(sql),),
    )
    conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def _without_keys(sql):
    for column, parent, action in case_keys.REFERENCES:
        sql, n = re.subn(r",\s*" + re.escape(_clause(column, parent, action)), "", sql)
        assert n == 1, f"{column}: foreign key not found in recovery_case"
    return sql


def _with_keys(sql):
    head, tail = sql.rstrip().rsplit(")", 1)
    keys = "".join(f", \n\t{_clause(*reference)}" for reference in case_keys.REFERENCES)
    return f"{head.rstrip()}{keys}\n){tail}"


def _copy_triggers(dialect, create):
    for statement in copies.DROP.get(dialect, []):
        op.execute(sa.text(statement))
    for statement in create:
        op.execute(sa.text(statement))


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for column, parent, _ in case_keys.REFERENCES:
            op.drop_constraint(
                case_keys.key_name(column, parent), "recovery_case", type_="foreignkey"
            )
    elif dialect == "sqlite":
        _sqlite_table(_without_keys)
    for statement in case_keys.statements(dialect):
        op.execute(sa.text(statement))
    _copy_triggers(dialect, copies.statements(dialect))


# The copy triggers before this revision (the insert trigger ran for every case).
_OLD_COPY_TRIGGERS = {
    "postgresql": [
        "CREATE TRIGGER recovery_case_search_text BEFORE INSERT OR UPDATE OF customer_id"
        " ON recovery_case FOR EACH ROW EXECUTE FUNCTION recovery_case_search_text()",
    ],
    "sqlite": [
        "CREATE TRIGGER recovery_case_search_insert AFTER INSERT ON recovery_case BEGIN"
        f" UPDATE recovery_case SET ({', '.join(copies.COPIES)}) ="
        f" (SELECT {', '.join(copies.copy_expressions('c'))} FROM customer c"
        " WHERE c.id = NEW.customer_id) WHERE id = NEW.id; END",
    ],
}


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in case_keys.drop_statements(dialect):
        op.execute(sa.text(statement))
    # the old insert trigger; the customer's trigger and (SQLite) the move trigger as now
    keep = [
        s
        for s in copies.statements(dialect)
        if "recovery_case_search_text BEFORE" not in s
        and "recovery_case_search_insert" not in s
        and "recovery_case_search_move BEFORE" not in s
    ]
    _copy_triggers(dialect, [*keep, *_OLD_COPY_TRIGGERS.get(dialect, [])])
    for column, parent, action in case_keys.REFERENCES:
        # NOT EXISTS: an anti join (NOT IN over 300 000 orders rescans them per case)
        orphans = (
            f"{column} IS NOT NULL"
            f" AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = recovery_case.{column})"
        )
        if action == "CASCADE":
            op.execute(f"DELETE FROM recovery_case WHERE {orphans}")
        else:
            op.execute(f"UPDATE recovery_case SET {column} = NULL WHERE {orphans}")
    if dialect == "postgresql":
        for column, parent, action in case_keys.REFERENCES:
            op.create_foreign_key(
                case_keys.key_name(column, parent),
                "recovery_case",
                parent,
                [column],
                ["id"],
                ondelete=None if action == "NO ACTION" else action,
            )
    elif dialect == "sqlite":
        _sqlite_table(_with_keys)

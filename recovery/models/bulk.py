"""Inserting a worker's batch in few statements on PostgreSQL and SQLite alike.

A multi-row ``INSERT … VALUES … RETURNING`` (what a flush or an executemany with
RETURNING becomes) has thousands of parameters; psycopg parses such a statement in
Python on every execution (it caches only short ones), tens of milliseconds per batch
statement. On PostgreSQL the batch's primary keys are therefore taken from the table's
sequence first and the rows inserted without RETURNING: psycopg sends them as one
pipelined executemany of a short statement, parsed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


def _next_ids(table: Table, n: int) -> list[int]:
    return list(db.session.scalars(_NEXT_IDS, {"table": table.name, "n": n}))


def reserve_ids(objects: Sequence[Any]) -> None:
    """Give new ORM objects of one model their ids before the flush (PostgreSQL; on
    SQLite the flush assigns them as usual)."""
    if objects and _postgresql():
        ids = _next_ids(type(objects[0]).__table__, len(objects))
        for obj, i in zip(objects, ids, strict=True):
            obj.id = i


def insert_new(table: Table, rows: list[dict[str, Any]], key: Sequence[str]) -> set[tuple]:
    """Insert ``rows`` (one set of columns), skipping those whose unique ``key`` exists
    (another worker wrote them, possibly a moment ago: ON CONFLICT waits for its
    transaction); the keys of the rows inserted."""
    if not rows:
        return set()
    columns = [table.c[name] for name in key]
    if not _postgresql():
        stmt = sqlite.insert(table).on_conflict_do_nothing().returning(*columns)
        return set(db.session.execute(stmt, rows).tuples())
    ids = _next_ids(table, len(rows))
    rows = [{**row, "id": i} for row, i in zip(rows, ids, strict=True)]
    db.session.execute(postgresql.insert(table).on_conflict_do_nothing(), rows)
    return set(db.session.execute(select(*columns).where(table.c.id.in_(ids))).tuples())

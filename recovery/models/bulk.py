"""Inserting a worker's batch in one statement per table, on PostgreSQL and SQLite alike.

A batch written as a multi-row ``INSERT … VALUES`` (a flush, an executemany with
RETURNING) has thousands of parameters, and psycopg parses such a statement in Python
on every execution (it caches only short ones): tens of milliseconds per statement. As
an executemany without RETURNING it is one execution per row on the server (a fifth of
a millisecond each with foreign keys and indexes). So on PostgreSQL the rows go as one
JSON parameter, unpacked by ``jsonb_to_recordset`` in the server; SQLite gets an
executemany (its statements are parsed in C).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Table,
    any_,
    bindparam,
    case,
    column,
    func,
    inspect,
    text,
)
from sqlalchemy.dialects import sqlite

from ..extensions import db

_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def among(column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` for a batch (the sending loop's hundreds of ids): on
    PostgreSQL ``column = ANY(array)`` with one parameter, so the statement's text is
    short and the same for every batch – SQLAlchemy renders, and psycopg parses in
    Python, each parameter of an IN list on every execution (a fifth of a worker's CPU
    per message); elsewhere (SQLite) the plain IN."""
    if _postgresql():
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def keyed(
    key: ColumnElement[Any], values: Mapping[Any, Any], value_type: Any
) -> tuple[ColumnElement[bool], ColumnElement[Any]]:
    """A value per row of a batch, for an UPDATE: the condition (``key`` is one of the
    mapping's keys) and the expression of each row's value. On PostgreSQL the pairs are
    two arrays, ``unnest``-ed in the UPDATE's FROM and joined on the key (two parameters
    however many rows: the sending loop's provider ids); elsewhere (SQLite) ``IN`` and a
    ``CASE`` with a branch per key."""
    if _postgresql():
        pairs = func.unnest(
            bindparam(None, list(values), type_=ARRAY(key.type)),
            bindparam(None, list(values.values()), type_=ARRAY(value_type)),
        ).table_valued(column("key", key.type), column("value", value_type))
        pairs = pairs.render_derived(name="pairs")  # AS pairs(key, value)
        return key == pairs.c.key, pairs.c.value
    return key.in_(list(values)), case(dict(values), value=key)


def _json(value: object) -> object:
    """Values as the database keeps them: times naive UTC (``UTCDateTime``)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def insert_rows(
    table: Table,
    rows: list[dict[str, Any]],
    skip_existing: Sequence[str] | None = None,
    returning: Sequence[str] = (),
) -> list[tuple]:
    """Insert ``rows`` (one set of columns) with one statement; with ``skip_existing``
    (the columns of a unique key) rows whose key exists are skipped – ON CONFLICT waits
    for another worker's transaction that wrote the key. The ``returning`` columns of
    the rows inserted."""
    if not rows:
        return []
    if not _postgresql():
        stmt = sqlite.insert(table)
        if skip_existing is not None:
            stmt = stmt.on_conflict_do_nothing()
        if not returning:
            db.session.execute(stmt, rows)
            return []
        stmt = stmt.returning(*(table.c[name] for name in returning))
        return list(db.session.execute(stmt, rows).tuples())
    dialect = db.session.get_bind().dialect
    names = list(rows[0])
    columns = ", ".join(names)
    shapes = ", ".join(f"{n} {table.c[n].type.compile(dialect=dialect)}" for n in names)
    sql = (
        f"INSERT INTO {table.name} ({columns}) SELECT {columns} "  # noqa: S608 (our names)
        f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({shapes})"
    )
    if skip_existing is not None:
        sql += f" ON CONFLICT ({', '.join(skip_existing)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
    result = db.session.execute(text(sql), {"rows": json.dumps(rows, default=_json)})
    return list(result.tuples()) if returning else []


def insert_objects(objects: Sequence[Any]) -> None:
    """New ORM objects of one model, added to the session and not flushed yet: inserted
    with one statement and given their ids (an autoflush meanwhile inserted some
    already: those are left as they are). On PostgreSQL the ids come from the
    table's sequence first and the objects leave the session (only their ids are read
    afterwards); on SQLite the flush inserts them."""
    objects = [obj for obj in objects if inspect(obj).pending]  # not flushed meanwhile
    if not objects:
        return
    if not _postgresql():
        db.session.flush()
        return
    mapper = inspect(type(objects[0]))
    table = mapper.local_table
    ids = db.session.scalars(_NEXT_IDS, {"table": table.name, "n": len(objects)}).all()
    shapes: dict[tuple, list[dict[str, Any]]] = {}
    for obj, i in zip(objects, ids, strict=True):
        obj.id = i
        row = _row(obj, mapper)
        shapes.setdefault(tuple(row), []).append(row)
        db.session.expunge(obj)
    for rows in shapes.values():
        insert_rows(table, rows)


def _row(obj: Any, mapper) -> dict[str, Any]:
    """The object's column values, the columns' Python defaults where never set (a
    column left to its server default is left out)."""
    state = obj.__dict__
    row = {}
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if attr.key in state:
            row[column.name] = state[attr.key]
        elif column.default is not None and column.default.is_callable:
            row[column.name] = column.default.arg(None)
        elif column.default is not None and column.default.is_scalar:
            row[column.name] = column.default.arg
        elif column.server_default is None:
            row[column.name] = None
    return row

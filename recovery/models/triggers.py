"""Triggers that keep derived data exact inside the database (tally.py, copies.py)."""

from __future__ import annotations

from sqlalchemy import Table, event, text

from ..extensions import db


class Triggers:
    """Trigger DDL per dialect; created by ``create_all`` along with ``table`` (the
    tests, ``flask recovery demo --fresh``). Migrations run :meth:`statements`."""

    def __init__(self, table: Table, postgresql: list[str], sqlite: list[str]):
        self.table = table
        self.by_dialect = {"postgresql": postgresql, "sqlite": sqlite}
        event.listen(db.metadata, "after_create", self._create)

    def statements(self, dialect: str) -> list[str]:
        """The DDL for ``dialect`` ('postgresql' or 'sqlite'; others get none)."""
        return self.by_dialect.get(dialect, [])

    def _create(self, metadata, connection, **kw) -> None:
        if not kw.get("tables") or self.table in kw["tables"]:
            for statement in self.statements(connection.dialect.name):
                connection.execute(text(statement))

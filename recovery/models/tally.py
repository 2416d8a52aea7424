"""How many cases each (kind, status, company) has, kept by the database itself.

The queue's tiles and unfiltered lists show live counts. Counting 200 000 open cases
reads 200 000 index entries (~20 ms of database CPU per page view, for every user, all
day); this table holds the counts instead, and triggers on ``recovery_case`` keep it
exact in the same transaction as every change – the sales buttons, the analysis' bulk
writes (COPY included), deletes by cascade, a TRUNCATE. No code path can forget it.

* PostgreSQL: statement-level triggers with transition tables: a bulk statement adds
  its changes up once; a statement that changes no count (a claim, new numbers from the
  analysis) writes nothing and locks nothing.
* SQLite: row-level triggers; the UPDATE trigger fires only when kind, status or
  company change.

``company_id`` 0 stands for "no company" (a key column cannot be NULL). The migration
that adds the table runs ``statements()``; a change to the triggers needs a migration
that replaces them. On SQLite, a migration that rebuilds ``recovery_case`` (batch mode)
drops its triggers and must create them again. ``tests/app/test_case_tally.py`` checks the
counts against a real count after every kind of change, on both databases, and that a
database built by the migrations has the triggers.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .triggers import Triggers


class CaseTally(db.Model):
    __tablename__ = "case_tally"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    company_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    cases: Mapped[int] = mapped_column(BigInteger, default=0)


_PG_UPSERT = """
    INSERT INTO case_tally AS t (kind, status, company_id, cases)
    SELECT kind, status, company_id, sum(n) FROM ({rows}) AS d
    GROUP BY kind, status, company_id HAVING sum(n) <> 0
    ORDER BY kind, status, company_id
    ON CONFLICT (kind, status, company_id) DO UPDATE SET cases = t.cases + EXCLUDED.cases;
"""
_PG_NEW = "SELECT kind, status, coalesce(company_id, 0) AS company_id, 1 AS n FROM new_rows"
_PG_OLD = "SELECT kind, status, coalesce(company_id, 0) AS company_id, -1 AS n FROM old_rows"

POSTGRESQL = [
    f"""
CREATE OR REPLACE FUNCTION case_tally_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_PG_UPSERT.format(rows=_PG_NEW)}
  ELSIF TG_OP = 'DELETE' THEN
    {_PG_UPSERT.format(rows=_PG_OLD)}
  ELSIF TG_OP = 'UPDATE' THEN
    {_PG_UPSERT.format(rows=_PG_NEW + " UNION ALL " + _PG_OLD)}
  ELSE
    DELETE FROM case_tally;
  END IF;
  RETURN NULL;
END $$""",
    "CREATE TRIGGER case_tally_insert AFTER INSERT ON recovery_case"
    " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION case_tally_apply()",
    "CREATE TRIGGER case_tally_update AFTER UPDATE ON recovery_case"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION case_tally_apply()",
    "CREATE TRIGGER case_tally_delete AFTER DELETE ON recovery_case"
    " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION case_tally_apply()",
    "CREATE TRIGGER case_tally_truncate AFTER TRUNCATE ON recovery_case"
    " FOR EACH STATEMENT EXECUTE FUNCTION case_tally_apply()",
]


def _sqlite_add(row: str, n: str) -> str:
    key = f"{row}.kind, {row}.status, coalesce({row}.company_id, 0)"
    return (
        f"INSERT OR IGNORE INTO case_tally (kind, status, company_id, cases) VALUES ({key}, 0);"
        f" UPDATE case_tally SET cases = cases + ({n}) WHERE kind = {row}.kind"
        f" AND status = {row}.status AND company_id = coalesce({row}.company_id, 0);"
    )


SQLITE = [
    f"CREATE TRIGGER case_tally_insert AFTER INSERT ON recovery_case"
    f" BEGIN {_sqlite_add('NEW', '1')} END",
    f"CREATE TRIGGER case_tally_delete AFTER DELETE ON recovery_case"
    f" BEGIN {_sqlite_add('OLD', '-1')} END",
    "CREATE TRIGGER case_tally_update AFTER UPDATE OF kind, status, company_id ON recovery_case"
    " WHEN OLD.kind IS NOT NEW.kind OR OLD.status IS NOT NEW.status"
    " OR OLD.company_id IS NOT NEW.company_id"
    f" BEGIN {_sqlite_add('OLD', '-1')} {_sqlite_add('NEW', '1')} END",
]

# Fills the table from the cases there are (after creating it on a filled database).
RECOUNT = (
    "INSERT INTO case_tally (kind, status, company_id, cases)"
    " SELECT kind, status, coalesce(company_id, 0), count(*) FROM recovery_case"
    " GROUP BY kind, status, coalesce(company_id, 0)"
)


statements = Triggers(CaseTally.__table__, POSTGRESQL, SQLITE).statements

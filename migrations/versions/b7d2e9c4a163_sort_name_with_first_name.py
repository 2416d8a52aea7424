"""the lists' name sort: surname, then first name, then company name

Revision ID: b7d2e9c4a163
Revises: a8c3e5f1d294
Create Date: 2026-12-07 12:05:00.000000

The case's copy ``sort_name`` held the surname only (else the company name), so
customers with the same surname came in no particular order. The copy now joins the
surname, the first name and the company name with a separator that sorts below every
letter; the list indexes on ``sort_name`` stay as they are. The triggers that write the
copies are replaced and every case's copy is written again.
"""
from alembic import op
import sqlalchemy as sa

from recovery.models.copies import DROP, FILL, statements


# revision identifiers, used by Alembic.
revision = 'b7d2e9c4a163'
down_revision = 'a8c3e5f1d294'
branch_labels = None
depends_on = None


def upgrade():
    dialect = op.get_bind().dialect.name
    for statement in DROP.get(dialect, []):
        op.execute(sa.text(statement))
    for statement in statements(dialect):
        op.execute(sa.text(statement))
    op.execute(FILL)


def downgrade():
    # The copies keep the longer sort key: it sorts the same names first, so the older
    # code reads the lists in a useful order still.
    pass

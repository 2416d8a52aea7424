"""recovery_case fillfactor 50: the analysis's nightly rewrite of an open case's reason
fits on the row's page, so PostgreSQL updates it without touching the 25 indexes (HOT)

Revision ID: c5d1f0a9e3b7
Revises: a7c3e5f91b24
Create Date: 2026-12-07 20:30:00.000000

Only a storage parameter: pages written from now on keep half of their space free
(existing pages fill up as rows move); nothing to do on SQLite.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "c5d1f0a9e3b7"
down_revision = "a7c3e5f91b24"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE recovery_case SET (fillfactor = 50)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE recovery_case RESET (fillfactor)")

"""connector label: the name the admin typed ("WaWi-Export März"); ``name`` stays the
technical key derived from it (stored on every customer and order of the source)

Revision ID: a8c3e5f1d294
Revises: 955a775d60f8
Create Date: 2026-12-07 11:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a8c3e5f1d294'
down_revision = '955a775d60f8'
branch_labels = None
depends_on = None


def upgrade():
    # add_column needs no table rebuild on SQLite (the connector table has triggers on
    # neither side, but a plain ALTER is enough for a nullable column)
    op.add_column('connector', sa.Column('label', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('connector', schema=None) as batch_op:
        batch_op.drop_column('label')

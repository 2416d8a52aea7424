"""customer country_raw: a source's country value that names no recognised country,
kept beside the empty ISO code so the admin sees it

Revision ID: 31408adce102
Revises: d7a4c1e9b256
Create Date: 2026-12-07 10:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '31408adce102'
down_revision = 'd7a4c1e9b256'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('country_raw', sa.String(length=100), nullable=True))
        batch_op.create_index(
            'ix_customer_source_country_raw', ['source', 'country_raw'], unique=False
        )


def downgrade():
    # Not in batch mode: SQLite's batch mode would rebuild the customer table, which the
    # case search triggers refer to; SQLite (3.35+) drops an unindexed column itself.
    op.drop_index('ix_customer_source_country_raw', table_name='customer')
    op.drop_column('customer', 'country_raw')

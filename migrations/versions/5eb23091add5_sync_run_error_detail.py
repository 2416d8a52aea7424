"""sync run error detail: the failed run's message and refused rows as connector
messages (template and values), so the sync log is shown in the reader's language

Revision ID: 5eb23091add5
Revises: 31408adce102
Create Date: 2026-12-07 11:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5eb23091add5'
down_revision = '31408adce102'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_detail', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.drop_column('error_detail')

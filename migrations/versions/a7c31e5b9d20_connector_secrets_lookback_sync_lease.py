"""connector secrets, look-back days and sync lease

Revision ID: a7c31e5b9d20
Revises: 5dc42834c52b
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c31e5b9d20'
down_revision = '5dc42834c52b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connector', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secrets', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('lookback_days', sa.Integer(), server_default='30', nullable=False))
        batch_op.add_column(sa.Column('sync_owner', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('sync_lease_until', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('connector', schema=None) as batch_op:
        batch_op.drop_column('sync_lease_until')
        batch_op.drop_column('sync_owner')
        batch_op.drop_column('lookback_days')
        batch_op.drop_column('secrets')

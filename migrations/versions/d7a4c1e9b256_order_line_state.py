"""order line state: the state of one position where the source has it (a cancelled
position of a completed order); empty means the line shares its order's state

Revision ID: d7a4c1e9b256
Revises: d9a4f1c3e6b2
Create Date: 2026-12-07 09:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7a4c1e9b256'
down_revision = 'd9a4f1c3e6b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=10), nullable=True))


def downgrade():
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_column('state')

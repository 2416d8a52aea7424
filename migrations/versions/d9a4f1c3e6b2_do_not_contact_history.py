"""do-not-contact history: every reason recorded for a customer and channel, the
latest last (a spam complaint after an unsubscribe is kept, and shown)

Revision ID: d9a4f1c3e6b2
Revises: b4e8c2d17f30
Create Date: 2026-12-07 11:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd9a4f1c3e6b2'
down_revision = 'b4e8c2d17f30'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('do_not_contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('history', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('do_not_contact', schema=None) as batch_op:
        batch_op.drop_column('history')

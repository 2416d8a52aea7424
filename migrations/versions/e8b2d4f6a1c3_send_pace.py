"""send pace: the sending's rate limit shared by all workers of a database

Revision ID: e8b2d4f6a1c3
Revises: d3a8f6c2e1b4
Create Date: 2026-12-07 23:30:00.000000

One row per sending source (``mailjet``, ``sms:twilio`` …) with its next free slot
(recovery/messaging/pace.py); rows appear on the first call of a source.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e8b2d4f6a1c3'
down_revision = 'd3a8f6c2e1b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'send_pace',
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('tat', sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint('source', name=op.f('pk_send_pace')),
    )


def downgrade():
    op.drop_table('send_pace')

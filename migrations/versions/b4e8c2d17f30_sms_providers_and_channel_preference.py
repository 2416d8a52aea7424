"""sms providers and channel preference: per company the SMS provider, the Twilio
sender and the channel preference (M4); per message the SMS provider it was stored for

Revision ID: b4e8c2d17f30
Revises: b2f8e4c61a07
Create Date: 2026-12-07 10:00:00.000000

The defaults keep what every company did before: SMS through Mailjet, both buttons.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4e8c2d17f30'
down_revision = 'b2f8e4c61a07'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'sms_provider', sa.String(length=20), server_default='mailjet_sms', nullable=False
            )
        )
        batch_op.add_column(sa.Column('twilio_sender', sa.String(length=34), nullable=True))
        batch_op.add_column(
            sa.Column(
                'channel_preference', sa.String(length=20), server_default='both', nullable=False
            )
        )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('provider')
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.drop_column('channel_preference')
        batch_op.drop_column('twilio_sender')
        batch_op.drop_column('sms_provider')

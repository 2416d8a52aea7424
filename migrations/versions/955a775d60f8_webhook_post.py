"""webhook post: a POST of Mailjet events is stored whole and answered; the worker's
``mailjet events`` job splits it into webhook_event rows (with post_id) and processes them

Revision ID: 955a775d60f8
Revises: e4887fa1baf5
Create Date: 2026-12-07 10:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '955a775d60f8'
down_revision = 'e4887fa1baf5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'webhook_post',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('split_at', sa.DateTime(), nullable=True),
        sa.Column('done_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['job_id'], ['job_run.id'], name=op.f('fk_webhook_post_job_id_job_run'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_post')),
    )
    with op.batch_alter_table('webhook_post', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_post_done_at', ['done_at'], unique=False)
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('post_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_webhook_event_post_id_webhook_post', 'webhook_post', ['post_id'], ['id'],
            ondelete='SET NULL',
        )
        batch_op.create_index('ix_webhook_event_post_id', ['post_id'], unique=False)


def downgrade():
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_event_post_id')
        batch_op.drop_constraint('fk_webhook_event_post_id_webhook_post', type_='foreignkey')
        batch_op.drop_column('post_id')
    with op.batch_alter_table('webhook_post', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_post_done_at')
    op.drop_table('webhook_post')

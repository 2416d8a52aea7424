"""case viewer: who has a case page open (presence by the page's heartbeat)

Revision ID: c3f91a7e52d8
Revises: 5d9460a04785
Create Date: 2026-12-07 12:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3f91a7e52d8'
down_revision = '5d9460a04785'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'case_viewer',
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['recovery_case.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('case_id', 'user_id'),
    )
    op.create_index('ix_case_viewer_seen_at', 'case_viewer', ['seen_at'], unique=False)


def downgrade():
    op.drop_index('ix_case_viewer_seen_at', table_name='case_viewer')
    op.drop_table('case_viewer')

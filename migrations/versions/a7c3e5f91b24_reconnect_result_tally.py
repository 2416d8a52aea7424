"""reconnect results tally: the results page's figures per group, company and month, and its reorder reminders

Revision ID: a7c3e5f91b24
Revises: a7c3e91f5b20
Create Date: 2026-12-07 17:00:00.000000

Empty at first: the worker counts them ("reconnect results"); until then the page
counts live.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e5f91b24'
down_revision = "a7c3e91f5b20"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reconnect_result',
    sa.Column('product_group_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('overdue', sa.Integer(), nullable=False),
    sa.Column('contacted', sa.Integer(), nullable=False),
    sa.Column('reconnected', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('not_contacted', sa.Integer(), nullable=False),
    sa.Column('not_reordered', sa.Integer(), nullable=False),
    sa.Column('not_revenue', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('switched_off', sa.Integer(), nullable=False),
    sa.Column('unreachable', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['product_group_id'], ['product_group.id'], name=op.f('fk_reconnect_result_product_group_id_product_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product_group_id', 'company_id', name=op.f('pk_reconnect_result'))
    )
    op.create_table('reconnect_result_month',
    sa.Column('company_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('contacted', sa.Integer(), nullable=False),
    sa.Column('reconnected', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.PrimaryKeyConstraint('company_id', 'month', name=op.f('pk_reconnect_result_month'))
    )
    op.create_table('reminder_result',
    sa.Column('product_group_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('reordered', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('held', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['product_group_id'], ['product_group.id'], name=op.f('fk_reminder_result_product_group_id_product_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product_group_id', 'company_id', name=op.f('pk_reminder_result'))
    )


def downgrade():
    op.drop_table('reminder_result')
    op.drop_table('reconnect_result_month')
    op.drop_table('reconnect_result')

"""reconnect: settings per product group, the send switch per customer × group, one
contact row per overdue episode, and the index the group tabs read

Revision ID: 5d9460a04785
Revises: b7d2e9c4a163
Create Date: 2026-12-07 11:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d9460a04785'
down_revision = 'b7d2e9c4a163'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reconnect_settings',
    sa.Column('product_group_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('followup_delay_days', sa.Integer(), nullable=False),
    sa.Column('attribution_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['product_group_id'], ['product_group.id'], name=op.f('fk_reconnect_settings_product_group_id_product_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_reconnect_settings_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('product_group_id', name=op.f('pk_reconnect_settings'))
    )
    op.create_table('reconnect_exclusion',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('product_group_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_reconnect_exclusion_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_reconnect_exclusion_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_group_id'], ['product_group.id'], name=op.f('fk_reconnect_exclusion_product_group_id_product_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'product_group_id', name=op.f('pk_reconnect_exclusion'))
    )
    op.create_table('reconnect_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('product_group_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=True),
    sa.Column('first_sent_at', sa.DateTime(), nullable=False),
    sa.Column('first_by_id', sa.Integer(), nullable=True),
    sa.Column('first_channels', sa.String(length=20), nullable=False),
    sa.Column('followup_at', sa.DateTime(), nullable=True),
    sa.Column('followup_skipped', sa.String(length=30), nullable=True),
    sa.Column('followup_decided_at', sa.DateTime(), nullable=True),
    sa.Column('reconnected_at', sa.DateTime(), nullable=True),
    sa.Column('reconnected_order_id', sa.Integer(), nullable=True),
    sa.Column('reconnected_revenue', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['recovery_case.id'], name=op.f('fk_reconnect_contact_case_id_recovery_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_reconnect_contact_company_id_company')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_reconnect_contact_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['first_by_id'], ['user_account.id'], name=op.f('fk_reconnect_contact_first_by_id_user_account')),
    sa.ForeignKeyConstraint(['product_group_id'], ['product_group.id'], name=op.f('fk_reconnect_contact_product_group_id_product_group')),
    sa.ForeignKeyConstraint(['reconnected_order_id'], ['customer_order.id'], name=op.f('fk_reconnect_contact_reconnected_order_id_customer_order'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconnect_contact')),
    sa.UniqueConstraint('case_id', name=op.f('uq_reconnect_contact_case_id'))
    )
    op.create_index('ix_reconnect_contact_group_first', 'reconnect_contact', ['product_group_id', 'first_sent_at'], unique=False)
    op.create_index('ix_reconnect_contact_group_followup', 'reconnect_contact', ['product_group_id', 'followup_at'], unique=False)
    op.create_index('ix_reconnect_contact_group_reconnected', 'reconnect_contact', ['product_group_id', 'reconnected_at'], unique=False)
    op.create_index('ix_reconnect_contact_customer_group', 'reconnect_contact', ['customer_id', 'product_group_id'], unique=False)
    # SQLite takes no NULLS LAST in an index; its DESC puts NULLs last all the same.
    # A plain CREATE INDEX: recovery_case is not rebuilt, its tally triggers stay.
    nulls_last = ' NULLS LAST' if op.get_bind().dialect.name == 'postgresql' else ''
    op.create_index(
        'ix_recovery_case_group_open', 'recovery_case',
        ['product_group_id', sa.text(f'revenue_at_risk DESC{nulls_last}'), 'id'], unique=False,
        sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'),
    )


def downgrade():
    op.drop_index('ix_recovery_case_group_open', table_name='recovery_case')
    op.drop_table('reconnect_contact')
    op.drop_table('reconnect_exclusion')
    op.drop_table('reconnect_settings')

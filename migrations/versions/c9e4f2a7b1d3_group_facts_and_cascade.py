"""group rules: kept order facts; members' cascades by delete triggers instead of foreign keys

Revision ID: c9e4f2a7b1d3
Revises: c5d1f0a9e3b7
Create Date: 2026-12-07 20:00:00.000000

The order-fact tables start empty: the first evaluation (or preview) builds them
(recovery/audience/facts.py; 1 M customers / 10 M lines: about a minute, once). The
foreign keys of group_member and group_member_change to customer and contact_group are
dropped and statement-level (PostgreSQL) or row-level (SQLite) AFTER DELETE triggers do
their cascade (recovery/models/group_cascade.py). The downgrade deletes rows whose
customer or group no longer exists before it adds the keys again.
"""
from alembic import op
import sqlalchemy as sa

from recovery.models.group_cascade import drop_statements, statements


# revision identifiers, used by Alembic.
revision = 'c9e4f2a7b1d3'
down_revision = 'c5d1f0a9e3b7'
branch_labels = None
depends_on = None

KEYS = [
    ("group_member", "customer_id", "customer"),
    ("group_member", "group_id", "contact_group"),
    ("group_member_change", "customer_id", "customer"),
    ("group_member_change", "group_id", "contact_group"),
]


def _key(table, column, referred):
    return f"fk_{table}_{column}_{referred}"


def upgrade():
    op.create_table(
        'order_fact_stamp',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('orders_until', sa.DateTime(), nullable=True),
        sa.Column('refreshed_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_order_fact_stamp')),
    )
    op.execute("INSERT INTO order_fact_stamp (id) VALUES (1)")  # never refreshed yet
    op.create_table(
        'order_fact_customer',
        sa.Column('customer_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_order_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_order_fact_customer')),
    )
    op.create_table(
        'order_fact_company',
        sa.Column('customer_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('company_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('customer_id', 'company_id', name=op.f('pk_order_fact_company')),
    )
    op.create_index('ix_order_fact_company_company', 'order_fact_company', ['company_id'])
    op.create_table(
        'order_fact_line',
        sa.Column('customer_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('product_group_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('customer_id', 'product_group_id', name=op.f('pk_order_fact_line')),
    )
    op.create_index(
        'ix_order_fact_line_group_last', 'order_fact_line', ['product_group_id', 'last_at']
    )
    # before the triggers: SQLite's batch mode renames the rebuilt tables, which a trigger
    # naming them would refuse
    for table in ('group_member', 'group_member_change'):
        with op.batch_alter_table(table) as batch:
            for t, column, referred in KEYS:
                if t == table:
                    batch.drop_constraint(_key(t, column, referred), type_='foreignkey')
    for statement in statements(op.get_bind().dialect.name):
        op.execute(sa.text(statement))


def downgrade():
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(sa.text(statement))
    for table, column, referred in KEYS:
        op.execute(
            f'DELETE FROM {table} WHERE {column} NOT IN (SELECT id FROM {referred})'
        )
    for table in ('group_member', 'group_member_change'):
        with op.batch_alter_table(table) as batch:
            for t, column, referred in KEYS:
                if t == table:
                    batch.create_foreign_key(
                        _key(t, column, referred), referred, [column], ['id'], ondelete='CASCADE'
                    )
    op.drop_index('ix_order_fact_line_group_last', table_name='order_fact_line')
    op.drop_table('order_fact_line')
    op.drop_index('ix_order_fact_company_company', table_name='order_fact_company')
    op.drop_table('order_fact_company')
    op.drop_table('order_fact_customer')
    op.drop_table('order_fact_stamp')

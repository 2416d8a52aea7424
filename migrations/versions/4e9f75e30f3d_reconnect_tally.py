"""reconnect tally: the overview's and confirm step's counts per group and company,
counted by the worker (campaigns/tally.py), empty until the first count; and
reconnect_contact.followup_held_last (a follow-up held by the cap waits for it to free)

Revision ID: 4e9f75e30f3d
Revises: b8e2c4d6f1a3
Create Date: 2026-12-07 13:48:23.593405

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4e9f75e30f3d'
down_revision = 'b8e2c4d6f1a3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reconnect_tally',
    sa.Column('product_group_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('overdue', sa.Integer(), nullable=False),
    sa.Column('fresh', sa.Integer(), nullable=False),
    sa.Column('reachable', sa.Integer(), nullable=False),
    sa.Column('due', sa.Integer(), nullable=False),
    sa.Column('counted_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['product_group_id'], ['product_group.id'], name=op.f('fk_reconnect_tally_product_group_id_product_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product_group_id', 'company_id', name=op.f('pk_reconnect_tally'))
    )
    with op.batch_alter_table('reconnect_contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('followup_held_last', sa.DateTime(), nullable=True))


def downgrade():
    # A plain DROP COLUMN (SQLite 3.35+): batch mode would reflect the customer table it
    # refers to, whose expression index (lower(email)) SQLAlchemy cannot reflect.
    op.drop_column('reconnect_contact', 'followup_held_last')
    op.drop_table('reconnect_tally')

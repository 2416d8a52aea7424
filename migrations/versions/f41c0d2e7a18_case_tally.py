"""case tally: live counts per kind, status and company, kept by triggers

Revision ID: f41c0d2e7a18
Revises: e3b7a91c4d52
Create Date: 2026-11-23 19:30:00.000000

Filled from the existing cases in the same transaction; on 200 000 cases this takes
well under a second.
"""
from alembic import op
import sqlalchemy as sa

from recovery.models.tally import RECOUNT, statements


# revision identifiers, used by Alembic.
revision = 'f41c0d2e7a18'
down_revision = 'e3b7a91c4d52'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'case_tally',
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('company_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('cases', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'status', 'company_id', name=op.f('pk_case_tally')),
    )
    op.execute(RECOUNT)
    for statement in statements(op.get_bind().dialect.name):
        op.execute(sa.text(statement))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for name in ('insert', 'update', 'delete', 'truncate'):
            op.execute(f'DROP TRIGGER IF EXISTS case_tally_{name} ON recovery_case')
        op.execute('DROP FUNCTION IF EXISTS case_tally_apply()')
    else:
        for name in ('insert', 'update', 'delete'):
            op.execute(f'DROP TRIGGER IF EXISTS case_tally_{name}')
    op.drop_table('case_tally')

"""customer.merged_into_id: a sign-up form's contact merged into the WaWi customer of its address

Revision ID: a7c3e91f5b20
Revises: 8decd15d8bd9
Create Date: 2026-12-07 16:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e91f5b20'
down_revision = '8decd15d8bd9'
branch_labels = None
depends_on = None


def upgrade():
    # Not in batch mode: SQLite's batch mode would rebuild the customer table, which the
    # case search triggers refer to (hence no foreign key either, see models/customer.py).
    op.add_column('customer', sa.Column('merged_into_id', sa.Integer(), nullable=True))


def downgrade():
    op.drop_column('customer', 'merged_into_id')

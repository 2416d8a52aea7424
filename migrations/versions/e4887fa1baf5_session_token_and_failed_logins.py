"""session token and failed logins: each user's session token (part of every session
and remember-me cookie, rotated by logout and a password change) replaces the account
lock-out; failed logins are rows (throttling by client and address, the action log)

Revision ID: e4887fa1baf5
Revises: 5eb23091add5
Create Date: 2026-12-07 11:00:00.000000
"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4887fa1baf5'
down_revision = '5eb23091add5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))
    # Every user gets a token of their own; sessions from before it end (logged out once).
    users = sa.table('user_account', sa.column('id', sa.Integer), sa.column('session_token'))
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(session_token=secrets.token_urlsafe(32))
        )
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('locked_until')

    op.create_table(
        'failed_login',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('ip', sa.String(length=45), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['user_id'], ['user_account.id'],
            name=op.f('fk_failed_login_user_id_user_account'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_failed_login')),
    )
    with op.batch_alter_table('failed_login', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_failed_login_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_failed_login_email_created_at', ['email', 'created_at'], unique=False)
        batch_op.create_index('ix_failed_login_ip_created_at', ['ip', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_failed_login_user_id'), ['user_id'], unique=False)


def downgrade():
    op.drop_table('failed_login')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_column('session_token')

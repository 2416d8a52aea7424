"""newsletter sign-up form: the newsletter's company and public key, earlier consents of a
subscription and the salutation given, the sign-up attempts counted for the rate limits, and a case-insensitive
index on the customer's email address (issue 15, G2)

Revision ID: b8e2c4d6f1a3
Revises: d6a1e2f3b4c5
Create Date: 2026-12-07 14:00:00.000000
"""

import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b8e2c4d6f1a3"
down_revision = "d6a1e2f3b4c5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("newsletter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("company_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("public_key", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            "fk_newsletter_company_id_company", "company", ["company_id"], ["id"],
            ondelete="SET NULL",
        )
    conn = op.get_bind()
    for (newsletter_id,) in conn.execute(sa.text("SELECT id FROM newsletter")).all():
        conn.execute(
            sa.text("UPDATE newsletter SET public_key = :key WHERE id = :id"),
            {"key": secrets.token_urlsafe(16), "id": newsletter_id},
        )
    with op.batch_alter_table("newsletter", schema=None) as batch_op:
        batch_op.alter_column("public_key", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint("uq_newsletter_public_key", ["public_key"])
    with op.batch_alter_table("newsletter_subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("salutation", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("history", sa.JSON(), nullable=True))
    op.create_table(
        "newsletter_signup_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("newsletter_id", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["newsletter_id"], ["newsletter.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_newsletter_signup_attempt_ip_at", "newsletter_signup_attempt", ["ip", "at"])
    op.create_index(
        "ix_newsletter_signup_attempt_address_at",
        "newsletter_signup_attempt",
        ["address_hash", "at"],
    )
    op.create_index("ix_newsletter_signup_attempt_at", "newsletter_signup_attempt", ["at"])
    # Not in batch mode: the customer table has the case search triggers.
    op.create_index("ix_customer_email_lower", "customer", [sa.text("lower(email)")])


def downgrade():
    op.drop_index("ix_customer_email_lower", table_name="customer")
    op.drop_index("ix_newsletter_signup_attempt_at", table_name="newsletter_signup_attempt")
    op.drop_index("ix_newsletter_signup_attempt_address_at", table_name="newsletter_signup_attempt")
    op.drop_index("ix_newsletter_signup_attempt_ip_at", table_name="newsletter_signup_attempt")
    op.drop_table("newsletter_signup_attempt")
    with op.batch_alter_table("newsletter_subscription", schema=None) as batch_op:
        batch_op.drop_column("history")
        batch_op.drop_column("salutation")
    with op.batch_alter_table("newsletter", schema=None) as batch_op:
        batch_op.drop_constraint("uq_newsletter_public_key", type_="unique")
        batch_op.drop_constraint("fk_newsletter_company_id_company", type_="foreignkey")
        batch_op.drop_column("public_key")
        batch_op.drop_column("company_id")

"""contact groups, members and their changes, newsletters and subscriptions (issue 15)

Revision ID: d6a1e2f3b4c5
Revises: c3f91a7e52d8
Create Date: 2026-12-07 13:50:00.000000
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "d6a1e2f3b4c5"
down_revision = "c3f91a7e52d8"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "contact_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=True),
        sa.Column("rules_evaluated_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "group_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["added_by_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["group_id"], ["contact_group.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_id", "customer_id"),
    )
    op.create_index("ix_group_member_customer", "group_member", ["customer_id"])
    op.create_table(
        "group_member_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["group_id"], ["contact_group.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_group_member_change_group_at", "group_member_change", ["group_id", "at"])
    op.create_index("ix_group_member_change_customer", "group_member_change", ["customer_id"])
    op.create_table(
        "newsletter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("double_opt_in", sa.Boolean(), nullable=False),
        sa.Column("confirm_template_id", sa.Integer(), nullable=True),
        sa.Column("confirm_subject", sa.String(length=300), nullable=True),
        sa.Column("confirm_text", sa.Text(), nullable=True),
        sa.Column("form_fields", sa.JSON(), nullable=True),
        sa.Column("expire_hours", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["contact_group.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_id"),
    )
    op.create_table(
        "newsletter_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("newsletter_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=15), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("form", sa.String(length=100), nullable=True),
        sa.Column("text_shown", sa.Text(), nullable=True),
        sa.Column("signup_ip", sa.String(length=45), nullable=True),
        sa.Column("signed_up_at", sa.DateTime(), nullable=False),
        sa.Column("confirm_sent_at", sa.DateTime(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("confirm_ip", sa.String(length=45), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["newsletter_id"], ["newsletter.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("newsletter_id", "customer_id"),
    )
    op.create_index(
        "ix_newsletter_subscription_status", "newsletter_subscription", ["newsletter_id", "status"]
    )
    op.create_index(
        "ix_newsletter_subscription_customer", "newsletter_subscription", ["customer_id"]
    )


def downgrade():
    op.drop_index("ix_newsletter_subscription_customer", table_name="newsletter_subscription")
    op.drop_index("ix_newsletter_subscription_status", table_name="newsletter_subscription")
    op.drop_table("newsletter_subscription")
    op.drop_table("newsletter")
    op.drop_index("ix_group_member_change_customer", table_name="group_member_change")
    op.drop_index("ix_group_member_change_group_at", table_name="group_member_change")
    op.drop_table("group_member_change")
    op.drop_index("ix_group_member_customer", table_name="group_member")
    op.drop_table("group_member")
    op.drop_table("contact_group")

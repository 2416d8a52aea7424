"""serial messages to a group or newsletter (issue 15, G4); message.serial_message_id;
customer.salutation

Revision ID: b8e5d2a7c914
Revises: 4e9f75e30f3d
Create Date: 2026-12-07 14:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b8e5d2a7c914"
down_revision = "4e9f75e30f3d"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "serial_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=12), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("salutation", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(), nullable=True),
        sa.Column("queued_at", sa.DateTime(), nullable=True),
        sa.Column("queued_through", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["contact_group.id"],
            name=op.f("fk_serial_message_group_id_contact_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["company.id"], name=op.f("fk_serial_message_company_id_company")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["job_run.id"],
            name=op.f("fk_serial_message_job_id_job_run"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_serial_message_created_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serial_message")),
    )
    with op.batch_alter_table("serial_message", schema=None) as batch_op:
        batch_op.create_index("ix_serial_message_state", ["state"], unique=False)
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("serial_message_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_message_serial_message_id_serial_message",
            "serial_message",
            ["serial_message_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_unique_constraint(
            "uq_message_serial_message_id_customer_id", ["serial_message_id", "customer_id"]
        )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("salutation", sa.String(length=10), nullable=True))


def downgrade():
    # Not in batch mode: SQLite's batch mode would rebuild the customer table, which the
    # case search triggers refer to; SQLite (3.35+) drops an unindexed column itself.
    op.drop_column("customer", "salutation")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint("uq_message_serial_message_id_customer_id", type_="unique")
        batch_op.drop_constraint("fk_message_serial_message_id_serial_message", type_="foreignkey")
        batch_op.drop_column("serial_message_id")
    with op.batch_alter_table("serial_message", schema=None) as batch_op:
        batch_op.drop_index("ix_serial_message_state")
    op.drop_table("serial_message")

"""API keys carry the role of their maker and record who made them.

Keys made before this revision were made by anyone signed in, owner or staff, and nothing
recorded which: they become staff keys. An owner who needs an owner key makes a new one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] == "shard":
        with op.batch_alter_table("api_keys") as table:
            table.add_column(sa.Column("role", sa.String(10), nullable=False, server_default="staff"))
            table.add_column(sa.Column("created_by_staff_id", sa.String(40), nullable=True))
            table.add_column(sa.Column("created_by_key_id", sa.String(40), nullable=True))
        with op.batch_alter_table("api_keys") as table:
            table.alter_column("role", server_default=None)


def downgrade() -> None:
    if context.config.attributes["role"] == "shard":
        with op.batch_alter_table("api_keys") as table:
            table.drop_column("created_by_key_id")
            table.drop_column("created_by_staff_id")
            table.drop_column("role")

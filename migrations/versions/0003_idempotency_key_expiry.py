"""Idempotency keys expire: an index on their creation time, so that pruning old ones reads
only those.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from alembic import context, op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] != "directory":
        op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"])


def downgrade() -> None:
    if context.config.attributes["role"] != "directory":
        op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")

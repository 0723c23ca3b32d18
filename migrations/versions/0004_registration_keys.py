"""Idempotency keys of merchant registrations move to the directory: a registration's region
follows from its request, so a key kept on a shard could not see the same key used with
another home country.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] == "directory":
        op.create_table(
            "registration_keys",
            sa.Column("key", sa.String(255), nullable=False),
            sa.Column("fingerprint", sa.String(64), nullable=False),
            sa.Column("merchant_id", sa.String(40), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("key", name=op.f("pk_registration_keys")),
        )


def downgrade() -> None:
    if context.config.attributes["role"] == "directory":
        op.drop_table("registration_keys")

"""Pending claims on storefront handles and sign-in emails, in the directory.

A sign-up or staff addition claims its names here before writing its account on the home
shard, and settles them afterwards (see marketplace.merchants.name_claims): the pointers
(`storefront_handles`, `sign_in_handles`, `directory_entries`) are written only once the
account's rows are known to exist. Nothing to carry over: every existing pointer was written
by the earlier code, which had no pending state.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] == "directory":
        op.create_table(
            "name_claims",
            sa.Column("kind", sa.String(10), nullable=False),
            sa.Column("name", sa.String(64), nullable=False),
            sa.Column("holder_id", sa.String(40), nullable=False),
            sa.Column("merchant_id", sa.String(40), nullable=False),
            sa.Column("region", sa.String(8), nullable=False),
            sa.Column("expires_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("kind", "name", name=op.f("pk_name_claims")),
        )
        op.create_index(op.f("ix_name_claims_merchant_id"), "name_claims", ["merchant_id"], unique=False)
        op.create_index(op.f("ix_name_claims_expires_at"), "name_claims", ["expires_at"], unique=False)


def downgrade() -> None:
    if context.config.attributes["role"] == "directory":
        op.drop_index(op.f("ix_name_claims_expires_at"), table_name="name_claims")
        op.drop_index(op.f("ix_name_claims_merchant_id"), table_name="name_claims")
        op.drop_table("name_claims")

"""Net payment terms a merchant grants buyer companies (on the merchant's shard).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.create_table(
        "net_terms_grants",
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("company_id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.String(80), nullable=False),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "company_id", name=op.f("pk_net_terms_grants")),
    )


def downgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.drop_table("net_terms_grants")

"""Checkouts: the payment provider each one's payment went to, so later calls (capture, void,
refund) go to the same provider even after the configuration changed. Every checkout before
this revision was paid through the offline provider (the only one the saga called then).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.add_column("checkouts", sa.Column("payment_provider", sa.String(20), nullable=True))
    op.execute("UPDATE checkouts SET payment_provider = 'offline' WHERE payment_provider IS NULL")


def downgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    with op.batch_alter_table("checkouts") as batch:
        batch.drop_column("payment_provider")

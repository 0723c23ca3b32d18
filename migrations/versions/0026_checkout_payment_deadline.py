"""Checkouts: the deadline of their payment (orders/policy.toml), after which the deadline sweep
cancels a checkout still waiting for it and voids the payment; a card PaymentIntent left
unconfirmed held its checkout for ever. Checkouts before this revision have none (NULL) and
keep waiting as they did.

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime

revision = "0026"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.add_column("checkouts", sa.Column("payment_deadline_at", UTCDateTime(), nullable=True))
    op.create_index("ix_checkouts_state_payment_deadline", "checkouts", ["state", "payment_deadline_at"])


def downgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.drop_index("ix_checkouts_state_payment_deadline", table_name="checkouts")
    with op.batch_alter_table("checkouts") as batch:
        batch.drop_column("payment_deadline_at")

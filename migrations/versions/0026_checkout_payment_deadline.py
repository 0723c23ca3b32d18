"""Checkouts: the deadline of their payment (orders/policy.toml), after which the deadline sweep
cancels a checkout still waiting for it and voids the payment; a card PaymentIntent left
unconfirmed held its checkout for ever. A card checkout already waiting gets the card's
deadline from now (the upgrade's clock), so the ones held since before the upgrade are let go;
the other methods' have none (NULL), as policy.toml says.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

CARD_SECONDS = 600  # policy.toml's payment_deadline_seconds.card, as of this revision


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.add_column("checkouts", sa.Column("payment_deadline_at", UTCDateTime(), nullable=True))
    op.create_index("ix_checkouts_state_payment_deadline", "checkouts", ["state", "payment_deadline_at"])
    checkouts = sa.table("checkouts", sa.column("state"), sa.column("payment_method"),
                         sa.column("payment_deadline_at", UTCDateTime()))
    op.execute(checkouts.update().where(checkouts.c.state == "paying", checkouts.c.payment_method == "card")
               .values(payment_deadline_at=datetime.now(UTC) + timedelta(seconds=CARD_SECONDS)))


def downgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.drop_index("ix_checkouts_state_payment_deadline", table_name="checkouts")
    with op.batch_alter_table("checkouts") as batch:
        batch.drop_column("payment_deadline_at")

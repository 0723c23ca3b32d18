"""A merchant order remembers how its buyer pays: the merchant's region must know that a
parcel's cash is collected on delivery, so that the operator's delivery event books the cash
(logistics.tracking) and escrow can end. Orders made before stay unknown (NULL): none of them
is taken for cash on delivery. The buyer's copy of an order remembers when the buyer
confirmed receipt, so a second confirmation changes nothing.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    with op.batch_alter_table("merchant_orders") as batch:
        batch.add_column(sa.Column("payment_method", sa.String(20), nullable=True))
    with op.batch_alter_table("buyer_orders") as batch:
        batch.add_column(sa.Column("receipt_confirmed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    with op.batch_alter_table("buyer_orders") as batch:
        batch.drop_column("receipt_confirmed_at")
    with op.batch_alter_table("merchant_orders") as batch:
        batch.drop_column("payment_method")

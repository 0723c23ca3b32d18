"""Merchant orders: the provider that took the buyer's payment and its reference for it (a
Stripe PaymentIntent's id), sent with orders.confirm, so a refund in the merchant's region is
paid there without reading the checkout in the buyer's region (a region-local process cannot).

Existing rows, as 0023 did for checkouts: an order paid by an offline method was paid through
the offline provider. A card order takes its checkout's provider and reference when the
checkout is on the same shard (buyer and merchant in one region); otherwise which provider
took it is not known here and stays NULL: its refund is refused by name
(PaymentProviders.named), not guessed, since guessing "offline" for a Stripe payment would
record a refund nobody paid.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

OFFLINE_METHODS = ("bank_transfer", "invoice", "cash_on_delivery")  # payments.gateways, as of this revision


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.add_column("merchant_orders", sa.Column("payment_provider", sa.String(20), nullable=True))
    op.add_column("merchant_orders", sa.Column("payment_reference", sa.String(80), nullable=True))
    op.execute("UPDATE merchant_orders SET payment_provider = 'offline' WHERE payment_method IN "
               f"({', '.join(repr(m) for m in OFFLINE_METHODS)})")
    for column in ("payment_provider", "payment_reference"):
        op.execute(f"UPDATE merchant_orders SET {column} = (SELECT checkouts.{column} FROM checkouts "
                   "WHERE checkouts.id = merchant_orders.checkout_id) WHERE payment_method = 'card'")


def downgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    with op.batch_alter_table("merchant_orders") as batch:
        batch.drop_column("payment_reference")
        batch.drop_column("payment_provider")

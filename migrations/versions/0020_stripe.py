"""Stripe: each checkout's PaymentIntent, webhook event ids received, disputes, connected accounts.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.create_table(
        "stripe_payments",
        sa.Column("checkout_id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("intent_id", sa.String(80), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("event_created", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("checkout_id", name=op.f("pk_stripe_payments")),
        sa.UniqueConstraint("intent_id", name=op.f("uq_stripe_payments_intent_id")),
    )
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("type", sa.String(80), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.create_table(
        "stripe_disputes",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("checkout_id", sa.String(40), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.String(80), nullable=True),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_disputes")),
    )
    op.create_index(op.f("ix_stripe_disputes_checkout_id"), "stripe_disputes", ["checkout_id"])
    op.create_table(
        "stripe_accounts",
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("account_id", sa.String(80), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_stripe_accounts")),
        sa.UniqueConstraint("account_id", name=op.f("uq_stripe_accounts_account_id")),
    )


def downgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.drop_table("stripe_accounts")
    op.drop_table("stripe_disputes")
    op.drop_table("stripe_events")
    op.drop_table("stripe_payments")

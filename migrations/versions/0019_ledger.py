"""Payments: the ledger (postings, entries), refunds, payouts, FX rates; a checkout's payment status.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    with op.batch_alter_table("checkouts") as batch:
        batch.add_column(sa.Column("payment_status", sa.String(20), nullable=True))
        batch.add_column(sa.Column("payment_client_secret", sa.String(300), nullable=True))
    op.create_table(
        "ledger_postings",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("merchant_id", sa.String(40), nullable=True),
        sa.Column("memo", sa.String(300), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_postings")),
        sa.UniqueConstraint("key", name=op.f("uq_ledger_postings_key")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("posting_id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("account", sa.String(30), nullable=False),
        sa.Column("merchant_id", sa.String(40), nullable=True),
        sa.Column("order_id", sa.String(40), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("original_amount", sa.BigInteger(), nullable=True),
        sa.Column("original_currency", sa.String(3), nullable=True),
        sa.Column("fx_rate", sa.String(40), nullable=True),
        sa.Column("fx_source", sa.String(80), nullable=True),
        sa.ForeignKeyConstraint(["posting_id"], ["ledger_postings.id"],
                                name=op.f("fk_ledger_entries_posting_id_ledger_postings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(op.f("ix_ledger_entries_posting_id"), "ledger_entries", ["posting_id"])
    op.create_index("ix_ledger_entries_merchant_account", "ledger_entries", ["merchant_id", "account", "currency"])
    op.create_index("ix_ledger_entries_order", "ledger_entries", ["order_id"])
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("order_id", sa.String(40), nullable=False),
        sa.Column("checkout_id", sa.String(40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("provider_reference", sa.String(120), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    op.create_index(op.f("ix_refunds_merchant_id"), "refunds", ["merchant_id"])
    op.create_index(op.f("ix_refunds_order_id"), "refunds", ["order_id"])
    op.create_table(
        "payouts",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("rail", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("provider_reference", sa.String(120), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
    )
    op.create_index(op.f("ix_payouts_merchant_id"), "payouts", ["merchant_id"])
    op.create_table(
        "fx_rates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("base", sa.String(3), nullable=False),
        sa.Column("quote", sa.String(3), nullable=False),
        sa.Column("rate", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fx_rates")),
        sa.UniqueConstraint("source", "at", "base", "quote", name="uq_fx_rates_source_at_base_quote"),
    )


def downgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.drop_table("fx_rates")
    op.drop_table("payouts")
    op.drop_table("refunds")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_postings")
    with op.batch_alter_table("checkouts") as batch:
        batch.drop_column("payment_client_secret")
        batch.drop_column("payment_status")

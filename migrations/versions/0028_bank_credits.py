"""Bank credits: every credit of a bank statement (or reported by an operator) recorded once, in
the region it paid (or, paying nothing, the region that received it), with what became of it and
what of it is owed back to the payer (payments.bank).

Credits applied before have no row: what they paid is in the ledger, and nothing of them is
known to be held for return.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.create_table(
        "bank_credits",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("bank_id", sa.String(80), nullable=True),
        sa.Column("booked_on", sa.String(10), nullable=False),
        sa.Column("reference", sa.String(120), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("applied_to", sa.String(40), nullable=True),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("returned_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_credits")),
        sa.UniqueConstraint("key", name=op.f("uq_bank_credits_key")),
    )
    op.create_index(op.f("ix_bank_credits_reference"), "bank_credits", ["reference"])
    op.create_index(op.f("ix_bank_credits_applied_to"), "bank_credits", ["applied_to"])


def downgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.drop_table("bank_credits")

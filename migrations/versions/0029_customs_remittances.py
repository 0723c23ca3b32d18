"""Customs remittances: the duties and taxes collected from buyers (ledger account
customs_collected), paid to each destination's customs once the goods have entered, one
remittance per country and currency naming the orders it covers (payments.customs_remittance).
An order is remitted once: its id is the key of its row.

Nothing is remitted by the migration: what was collected before it stays in customs_collected
until the first run pays it.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.create_table(
        "customs_remittances",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("filed_in", sa.String(300), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customs_remittances")),
    )
    op.create_table(
        "customs_remitted_orders",
        sa.Column("order_id", sa.String(40), nullable=False),
        sa.Column("remittance_id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("duty", sa.BigInteger(), nullable=True),
        sa.Column("tax", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["remittance_id"], ["customs_remittances.id"],
                                name=op.f("fk_customs_remitted_orders_remittance_id_customs_remittances")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_customs_remitted_orders")),
    )
    op.create_index(op.f("ix_customs_remitted_orders_remittance_id"), "customs_remitted_orders", ["remittance_id"])


def downgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.drop_index(op.f("ix_customs_remitted_orders_remittance_id"), table_name="customs_remitted_orders")
    op.drop_table("customs_remitted_orders")
    op.drop_table("customs_remittances")

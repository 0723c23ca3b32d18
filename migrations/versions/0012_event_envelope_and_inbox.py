"""Events between regions: the outbox row carries the envelope, consumers get an inbox.

The envelope's partition key (the aggregate the event concerns), correlation and causation
ids and schema version travel with the event to other regions, so they are stored with it.
Each shard gets an inbox (the event ids each named consumer has applied there, so a
redelivery is a no-op) and the consumers' own delivery queue (attempts and parking per
consumer, so one failing consumer never re-runs the others).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    with op.batch_alter_table("outbox_events") as table:
        table.add_column(sa.Column("partition_key", sa.String(120), nullable=True))
        table.add_column(sa.Column("correlation_id", sa.String(40), nullable=True))
        table.add_column(sa.Column("causation_id", sa.String(40), nullable=True))
        table.add_column(sa.Column("schema_version", sa.Integer(), nullable=False, server_default=sa.text("1")))
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(60), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("applied_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_inbox")),
    )
    op.create_table(
        "consumer_deliveries",
        sa.Column("consumer", sa.String(60), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("partition_key", sa.String(120), nullable=False),
        sa.Column("envelope", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(80), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("parked_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_consumer_deliveries")),
    )
    op.create_index("ix_consumer_deliveries_key", "consumer_deliveries", ["consumer", "partition_key", "event_id"])


def downgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.drop_index("ix_consumer_deliveries_key", table_name="consumer_deliveries")
    op.drop_table("consumer_deliveries")
    op.drop_table("inbox")
    with op.batch_alter_table("outbox_events") as table:
        for column in ("schema_version", "causation_id", "correlation_id", "partition_key"):
            table.drop_column(column)

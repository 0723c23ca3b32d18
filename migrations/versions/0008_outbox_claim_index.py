"""The relay's claim query gets an index that matches it.

The claim asks for pending events (neither delivered nor parked) in id order, a batch at a
time. The old index led with `delivered_at`, which every delivered event also fills, so it
grew with the whole table; a partial index on the id of pending events holds only the work
still to do and is read in the claim's own order.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PENDING = sa.text("delivered_at IS NULL AND parked_at IS NULL")


def upgrade() -> None:
    if context.config.attributes["role"] == "shard":
        op.drop_index("ix_outbox_events_pending", table_name="outbox_events")
        op.create_index("ix_outbox_events_ready", "outbox_events", ["id"], postgresql_where=PENDING, sqlite_where=PENDING)


def downgrade() -> None:
    if context.config.attributes["role"] == "shard":
        op.drop_index("ix_outbox_events_ready", table_name="outbox_events")
        op.create_index("ix_outbox_events_pending", "outbox_events", ["delivered_at", "parked_at", "available_at"])

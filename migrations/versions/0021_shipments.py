"""Shipments: S10 counters, parcels, their tracking events, postal webhook receipts, and the
buyer's copy of each parcel's timeline.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    op.create_table(
        "s10_counters",
        sa.Column("range_name", sa.String(40), nullable=False),
        sa.Column("next_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("range_name", name=op.f("pk_s10_counters")),
    )
    op.create_table(
        "shipments",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("order_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("tracking_number", sa.String(13), nullable=False),
        sa.Column("service", sa.String(20), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("sender", sa.JSON(), nullable=False),
        sa.Column("addressee", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("last_event_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("handed_over_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["merchant_orders.id"], name=op.f("fk_shipments_order_id_merchant_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
        sa.UniqueConstraint("tracking_number", name=op.f("uq_shipments_tracking_number")),
    )
    op.create_index(op.f("ix_shipments_order_id"), "shipments", ["order_id"])
    op.create_index("ix_shipments_merchant", "shipments", ["merchant_id", "id"])
    op.create_table(
        "tracking_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("operator", sa.String(8), nullable=False),
        sa.Column("event_id", sa.String(80), nullable=False),
        sa.Column("tracking_number", sa.String(13), nullable=False),
        sa.Column("shipment_id", sa.String(40), nullable=True),
        sa.Column("code", sa.String(3), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("office", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(500), nullable=True),
        sa.Column("changed_state", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_events")),
        sa.UniqueConstraint("operator", "event_id", name="uq_tracking_events_operator_event"),
    )
    op.create_index(op.f("ix_tracking_events_tracking_number"), "tracking_events", ["tracking_number"])
    op.create_index(op.f("ix_tracking_events_shipment_id"), "tracking_events", ["shipment_id"])
    op.create_table(
        "postal_receipts",
        sa.Column("operator", sa.String(8), nullable=False),
        sa.Column("event_id", sa.String(80), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("tracking_number", sa.String(20), nullable=False),
        sa.Column("routed_to", sa.String(8), nullable=True),
        sa.Column("event", sa.JSON(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("operator", "event_id", name=op.f("pk_postal_receipts")),
    )
    op.create_table(
        "buyer_parcels",
        sa.Column("tracking_number", sa.String(13), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("buyer_order_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("timeline", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tracking_number", name=op.f("pk_buyer_parcels")),
    )
    op.create_index(op.f("ix_buyer_parcels_buyer_order_id"), "buyer_parcels", ["buyer_order_id"])


def downgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    for table in ("buyer_parcels", "postal_receipts", "tracking_events", "shipments", "s10_counters"):
        op.drop_table(table)

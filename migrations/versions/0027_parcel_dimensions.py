"""Shipments: a parcel's sides as the merchant measured them, its billable weight and its
postage, so that a large light parcel is charged by its volume where the service says so
(logistics.rates) and its label shows the size the post will measure.

Parcels made before stay unmeasured and unrated (NULL): nobody knows their sides now, and
the postage they were never charged is not made up afterwards.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

COLUMNS = ("length_mm", "width_mm", "height_mm", "billable_weight_g", "postage_amount", "postage_currency")


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    with op.batch_alter_table("shipments") as batch:
        for column in COLUMNS[:-1]:
            batch.add_column(sa.Column(column, sa.Integer(), nullable=True))
        batch.add_column(sa.Column("postage_currency", sa.String(3), nullable=True))


def downgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    with op.batch_alter_table("shipments") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)

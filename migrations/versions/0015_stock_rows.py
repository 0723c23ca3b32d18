"""Stock in rows: one per variant and location (on hand, reserved, revision), and the
reservations checkouts hold on it. The units each variant's JSON `stock` listed become its
rows, then the JSON column goes: the rows are the one source of truth from here on.

The column is dropped before the new tables exist: on SQLite dropping a column rebuilds the
variants table, and with foreign keys on, rebuilding a parent would delete its children.

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime, utcnow

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

variants = sa.table("variants", sa.column("id", sa.String), sa.column("region", sa.String),
                    sa.column("merchant_id", sa.String), sa.column("stock", sa.JSON))
levels = sa.table("stock_levels", sa.column("variant_id", sa.String), sa.column("location", sa.String),
                  sa.column("region", sa.String), sa.column("merchant_id", sa.String), sa.column("on_hand", sa.Integer),
                  sa.column("reserved", sa.Integer), sa.column("revision", sa.Integer), sa.column("updated_at", UTCDateTime()))


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    bind = op.get_bind()
    now = utcnow()
    rows = [{"variant_id": v.id, "location": location, "region": v.region, "merchant_id": v.merchant_id,
             "on_hand": int(units), "reserved": 0, "revision": 1, "updated_at": now}
            for v in bind.execute(sa.select(variants)) for location, units in sorted((v.stock or {}).items())]
    with op.batch_alter_table("variants") as table:
        table.drop_column("stock")
    op.create_table(
        "stock_levels",
        sa.Column("variant_id", sa.String(40), nullable=False),
        sa.Column("location", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("reserved >= 0 AND on_hand >= reserved", name=op.f("ck_stock_levels_reserved_within_on_hand")),
        sa.ForeignKeyConstraint(["variant_id"], ["variants.id"], name=op.f("fk_stock_levels_variant_id_variants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("variant_id", "location", name=op.f("pk_stock_levels")),
    )
    op.create_index(op.f("ix_stock_levels_merchant_id"), "stock_levels", ["merchant_id"])
    op.create_table(
        "stock_reservations",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("settled_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_reservations")),
    )
    op.create_index("ix_stock_reservations_held", "stock_reservations", ["status", "expires_at"])
    op.create_table(
        "stock_reservation_lines",
        sa.Column("reservation_id", sa.String(80), nullable=False),
        sa.Column("variant_id", sa.String(40), nullable=False),
        sa.Column("location", sa.String(40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["reservation_id"], ["stock_reservations.id"],
                                name=op.f("fk_stock_reservation_lines_reservation_id_stock_reservations"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("reservation_id", "variant_id", "location", name=op.f("pk_stock_reservation_lines")),
    )
    if rows:
        op.bulk_insert(levels, rows)


def downgrade() -> None:
    """Back to JSON counts of units on hand; reservations are dropped (their units with them)."""
    if context.config.attributes["role"] != "shard":
        return
    bind = op.get_bind()
    counts: dict[str, dict[str, int]] = {}
    for level in bind.execute(sa.select(levels)):
        counts.setdefault(level.variant_id, {})[level.location] = level.on_hand
    op.drop_table("stock_reservation_lines")
    op.drop_index("ix_stock_reservations_held", table_name="stock_reservations")
    op.drop_table("stock_reservations")
    op.drop_index(op.f("ix_stock_levels_merchant_id"), table_name="stock_levels")
    op.drop_table("stock_levels")
    with op.batch_alter_table("variants") as table:
        table.add_column(sa.Column("stock", sa.JSON(), nullable=False, server_default="{}"))
    for variant_id, stock in counts.items():
        bind.execute(variants.update().where(variants.c.id == variant_id).values(stock=stock))

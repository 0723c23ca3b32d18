"""Carts, checkouts with their legs and the buyers' order summaries (buyer's region); merchant
orders, their transitions and merchants' order settings (merchant's region): every shard gets
all, since every region is both. Only new tables: the previous release never reads them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] == "directory":
        return
    op.create_table('buyer_orders',
    sa.Column('order_id', sa.String(length=40), nullable=False),
    sa.Column('region', sa.String(length=8), nullable=False),
    sa.Column('buyer_id', sa.String(length=40), nullable=False),
    sa.Column('checkout_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_region', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_amount', sa.Integer(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('return_requested', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_buyer_orders'))
    )
    op.create_index('ix_buyer_orders_buyer', 'buyer_orders', ['buyer_id', 'order_id'], unique=False)
    op.create_table('cart_lines',
    sa.Column('buyer_id', sa.String(length=40), nullable=False),
    sa.Column('variant_id', sa.String(length=40), nullable=False),
    sa.Column('region', sa.String(length=8), nullable=False),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_region', sa.String(length=8), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('quote', sa.JSON(), nullable=True),
    sa.Column('quoted_at', UTCDateTime(), nullable=True),
    sa.Column('added_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('buyer_id', 'variant_id', name=op.f('pk_cart_lines'))
    )
    op.create_table('checkouts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('region', sa.String(length=8), nullable=False),
    sa.Column('buyer_id', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('ship_to', sa.JSON(), nullable=False),
    sa.Column('payment_method', sa.String(length=20), nullable=False),
    sa.Column('payment_reference', sa.String(length=80), nullable=True),
    sa.Column('total_amount', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('deadline_at', UTCDateTime(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('settled_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkouts'))
    )
    op.create_index(op.f('ix_checkouts_buyer_id'), 'checkouts', ['buyer_id'], unique=False)
    op.create_index('ix_checkouts_state_deadline', 'checkouts', ['state', 'deadline_at'], unique=False)
    op.create_table('merchant_order_settings',
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('region', sa.String(length=8), nullable=False),
    sa.Column('return_window_days', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('merchant_id', name=op.f('pk_merchant_order_settings'))
    )
    op.create_table('merchant_orders',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('region', sa.String(length=8), nullable=False),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('checkout_id', sa.String(length=40), nullable=False),
    sa.Column('buyer_region', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('goods_amount', sa.Integer(), nullable=False),
    sa.Column('shipping_amount', sa.Integer(), nullable=False),
    sa.Column('total_amount', sa.Integer(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('ship_to', sa.JSON(), nullable=False),
    sa.Column('return_requested_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_orders')),
    sa.UniqueConstraint('checkout_id', 'merchant_id', name='uq_merchant_orders_checkout_merchant')
    )
    op.create_index('ix_merchant_orders_merchant', 'merchant_orders', ['merchant_id', 'id'], unique=False)
    op.create_table('checkout_legs',
    sa.Column('checkout_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('region', sa.String(length=8), nullable=False),
    sa.Column('merchant_region', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('goods_amount', sa.Integer(), nullable=True),
    sa.Column('shipping_amount', sa.Integer(), nullable=True),
    sa.Column('total_amount', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('problems', sa.JSON(), nullable=True),
    sa.Column('answered_at', UTCDateTime(), nullable=True),
    sa.Column('merchant_name', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['checkout_id'], ['checkouts.id'], name=op.f('fk_checkout_legs_checkout_id_checkouts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('checkout_id', 'merchant_id', name=op.f('pk_checkout_legs'))
    )
    op.create_table('order_transitions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=False),
    sa.Column('region', sa.String(length=8), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['merchant_orders.id'], name=op.f('fk_order_transitions_order_id_merchant_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_transitions'))
    )
    op.create_index(op.f('ix_order_transitions_order_id'), 'order_transitions', ['order_id'], unique=False)


def downgrade() -> None:
    if context.config.attributes["role"] == "directory":
        return
    op.drop_index(op.f('ix_order_transitions_order_id'), table_name='order_transitions')
    op.drop_table('order_transitions')
    op.drop_table('checkout_legs')
    op.drop_index('ix_merchant_orders_merchant', table_name='merchant_orders')
    op.drop_table('merchant_orders')
    op.drop_table('merchant_order_settings')
    op.drop_index('ix_checkouts_state_deadline', table_name='checkouts')
    op.drop_index(op.f('ix_checkouts_buyer_id'), table_name='checkouts')
    op.drop_table('checkouts')
    op.drop_table('cart_lines')
    op.drop_index('ix_buyer_orders_buyer', table_name='buyer_orders')
    op.drop_table('buyer_orders')

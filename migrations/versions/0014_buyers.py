"""Buyers and companies, their addresses, device sessions, refresh tokens and password resets on
every shard; in the directory, the pointer from a buyer email's keyed digest to the buyer.

Only new tables: the previous release never reads them, so it keeps working on this schema.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

from marketplace.regions.base import UTCDateTime

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] == "directory":
        op.create_table(
            "buyer_sign_in_handles",
            sa.Column("email_digest", sa.String(64), nullable=False),
            sa.Column("buyer_id", sa.String(40), nullable=False),
            sa.Column("region", sa.String(8), nullable=False),
            sa.PrimaryKeyConstraint("email_digest", name=op.f("pk_buyer_sign_in_handles")),
        )
        return
    op.create_table(
        "companies",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("tax_registration_number", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
    )
    op.create_table(
        "buyers",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("home_country", sa.String(2), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("company_id", sa.String(40), nullable=True),
        sa.Column("company_role", sa.String(10), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], name=op.f("fk_buyers_company_id_companies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buyers")),
    )
    op.create_index(op.f("ix_buyers_company_id"), "buyers", ["company_id"], unique=False)
    op.create_table(
        "buyer_addresses",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("owner_id", sa.String(40), nullable=False),
        sa.Column("label", sa.String(100), nullable=True),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("line1", sa.String(200), nullable=False),
        sa.Column("line2", sa.String(200), nullable=True),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("postal_code", sa.String(20), nullable=True),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buyer_addresses")),
    )
    op.create_index(op.f("ix_buyer_addresses_owner_id"), "buyer_addresses", ["owner_id"], unique=False)
    op.create_table(
        "buyer_sessions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("buyer_id", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_why", sa.String(20), nullable=True),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name=op.f("fk_buyer_sessions_buyer_id_buyers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buyer_sessions")),
    )
    op.create_index(op.f("ix_buyer_sessions_buyer_id"), "buyer_sessions", ["buyer_id"], unique=False)
    op.create_table(
        "buyer_tokens",
        sa.Column("token_digest", sa.String(64), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("session_id", sa.String(40), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["buyer_sessions.id"],
                                name=op.f("fk_buyer_tokens_session_id_buyer_sessions")),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_buyer_tokens")),
    )
    op.create_index(op.f("ix_buyer_tokens_session_id"), "buyer_tokens", ["session_id"], unique=False)
    op.create_index(op.f("ix_buyer_tokens_expires_at"), "buyer_tokens", ["expires_at"], unique=False)
    op.create_table(
        "buyer_password_resets",
        sa.Column("token_digest", sa.String(64), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("buyer_id", sa.String(40), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name=op.f("fk_buyer_password_resets_buyer_id_buyers")),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_buyer_password_resets")),
    )
    op.create_index(op.f("ix_buyer_password_resets_buyer_id"), "buyer_password_resets", ["buyer_id"], unique=False)


def downgrade() -> None:
    if context.config.attributes["role"] == "directory":
        op.drop_table("buyer_sign_in_handles")
        return
    for table in ("buyer_password_resets", "buyer_tokens", "buyer_sessions", "buyer_addresses", "buyers", "companies"):
        op.drop_table(table)

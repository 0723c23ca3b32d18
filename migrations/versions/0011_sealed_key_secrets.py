"""A new API key's secret waits for its one showing sealed on the session's row.

The dashboard redirects after making a key; the secret used to cross that redirect in the
signed (readable) session cookie. Now the row keeps it sealed with a one-time pad that only
the cookie holds, and the page that shows it empties the row.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] == "shard":
        with op.batch_alter_table("staff_sessions") as table:
            table.add_column(sa.Column("sealed_secret", sa.String(200), nullable=True))


def downgrade() -> None:
    if context.config.attributes["role"] == "shard":
        with op.batch_alter_table("staff_sessions") as table:
            table.drop_column("sealed_secret")

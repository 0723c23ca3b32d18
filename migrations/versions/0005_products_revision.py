"""Products carry a revision, bumped by every write: the API's ETag and the search document's
version. Existing products start at 1.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if context.config.attributes["role"] != "directory":
        with op.batch_alter_table("products") as batch:
            batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    if context.config.attributes["role"] != "directory":
        with op.batch_alter_table("products") as batch:
            batch.drop_column("revision")

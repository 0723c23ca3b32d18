"""The version row also names the revision it came from, so that older code can tell a
database one migration ahead of it (a rolling deploy, one region at a time) from one that went
somewhere it does not know.

Alembic's `alembic_version` holds only the current revision; code cannot know the ids of
revisions written after it. `cpu db upgrade` fills `down_revision` from the migration that
brought the database to its revision (see regions.schema.upgrade_all).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alembic_version") as table:
        table.add_column(sa.Column("down_revision", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alembic_version") as table:
        table.drop_column("down_revision")

"""Connected accounts: the state Stripe last told us of each (payouts_enabled, charges_enabled,
details_submitted, what its requirements still ask for and why Stripe disabled it), and the
Stripe time of that news (`state_at`), so older news arriving later changes nothing.

Existing rows start with payouts not enabled: an account was recorded when it was opened, not
when Stripe let it take payouts, so until Stripe says so (the account link's return, or an
`account.updated` event) its merchant is paid by the bank file, which reaches everyone.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

FLAGS = ("payouts_enabled", "charges_enabled", "details_submitted")


def upgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    with op.batch_alter_table("stripe_accounts") as batch:
        for flag in FLAGS:
            batch.add_column(sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("requirements_due", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("disabled_reason", sa.String(80), nullable=True))
        batch.add_column(sa.Column("state_at", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    if context.config.attributes["role"] != "shard":
        return
    with op.batch_alter_table("stripe_accounts") as batch:
        for column in ("state_at", "disabled_reason", "requirements_due", *reversed(FLAGS)):
            batch.drop_column(column)

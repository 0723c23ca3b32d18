"""Alembic environment: runs on the connection and role handed over by
marketplace.regions.schema, never on a URL of its own."""

from alembic import context

from marketplace.catalog import models as _catalog_models  # noqa: F401  (registers tables)
from marketplace.buyers import models as _buyer_models  # noqa: F401
from marketplace.merchants import models as _merchant_models  # noqa: F401
from marketplace.orders import models as _order_models  # noqa: F401
from marketplace.webhooks import models as _webhook_models  # noqa: F401
from payments import models as _payment_models  # noqa: F401
from payments.stripe import models as _stripe_models  # noqa: F401
from logistics import models as _logistics_models  # noqa: F401
from marketplace.regions.base import DirectoryBase, ShardBase

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations with `cpu db upgrade`, which targets every database.")

target_metadata = DirectoryBase.metadata if config.attributes["role"] == "directory" else ShardBase.metadata
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

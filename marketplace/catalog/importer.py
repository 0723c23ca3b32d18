"""Bulk import of products and variants (CSV and JSON)."""

from marketplace.regions.outbox import HandlerRegistry


def register_handlers(registry: HandlerRegistry) -> None:
    """Outbox handlers of the import (dashboard uploads run in the relay)."""

"""Deleting many rows without a long transaction: what housekeeping (outbox events,
idempotency keys) needs on tables that are written all the time."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import ColumnElement, delete, select, tuple_


def delete_in_batches(unit_of_work: Callable[[], object], model, key_columns: Sequence, where: ColumnElement[bool], *,
                      batch: int = 1000, max_batches: int | None = None) -> tuple[int, bool]:
    """Delete the rows matching `where`, `batch` at a time, each batch its own short
    transaction (`unit_of_work()` opens one). Returns (deleted, whether `max_batches` stopped
    it with more to delete)."""
    matching = select(*key_columns).where(where).order_by(*key_columns).limit(batch)
    deleted = batches = 0
    while max_batches is None or batches < max_batches:
        with unit_of_work() as uow:
            keys = [tuple(row) for row in uow.session.execute(matching).all()]
            if keys:
                uow.session.execute(delete(model).where(tuple_(*key_columns).in_(keys)).execution_options(
                    synchronize_session=False))
            uow.commit()
        deleted, batches = deleted + len(keys), batches + 1
        if len(keys) < batch:
            return deleted, False
    return deleted, True

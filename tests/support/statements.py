"""The SQL statements sent through some engines while a block runs, for tests that hold a path
to a number of round trips (a batch must not cost a statement per item; a cached lookup must
not reach the database again)."""

from __future__ import annotations

import contextlib

from sqlalchemy import event


@contextlib.contextmanager
def sent_through(engines):
    """Yields the list of statements (their SQL text) sent inside the block."""
    seen: list[str] = []
    engines = list(engines)

    def listener(_connection, _cursor, statement, *_args):
        seen.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", listener)

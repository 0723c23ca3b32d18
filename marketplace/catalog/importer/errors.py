"""What the import raises, and the shape of one problem in its report."""

from __future__ import annotations

from marketplace.errors import InvalidInput


def error_entry(line: int | None, column: str | None, reason: str) -> dict:
    """One entry of a report's `errors`: the line in the file, the column, and why."""
    return {"line": line, "column": column, "reason": reason}


class ImportRefused(InvalidInput):
    """The file as a whole cannot be read; nothing was written."""

    def __init__(self, reason: str, *, line: int | None = None):
        super().__init__(f"line {line}: {reason}" if line else reason, errors={"file": [reason]})
        self.line, self.reason = line, reason

    def as_error(self) -> dict:
        return error_entry(self.line, None, self.reason)


class ImportJobBusy(RuntimeError):
    """Another relay is running the job now; the event is retried later."""

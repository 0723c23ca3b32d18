"""Idempotency keys: a retried write returns what the first one did instead of doing it twice.

The record lives on the shard of the resource it created and commits with it, so a key is
either bound to a finished write or free; there is no "in progress" state to clean up.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from sqlalchemy.orm import Session

from marketplace.errors import Conflict, InvalidInput
from marketplace.regions.models import IdempotencyRecord

_KEY_SHAPE = re.compile(r"^[\x21-\x7e]{1,255}$")


def checked_key(key: str | None) -> str | None:
    if key is not None and not _KEY_SHAPE.fullmatch(key):
        raise InvalidInput(
            "Idempotency-Key must be 1 to 255 printable ASCII characters.",
            errors={"Idempotency-Key": ["1 to 255 printable ASCII characters, no spaces"]},
        )
    return key


def fingerprint(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def prior_result(session: Session, *, scope: str, key: str, request_fingerprint: str) -> str | None:
    """The id of what an earlier request with this key created, or None."""
    record = session.get(IdempotencyRecord, (scope, key))
    if record is None:
        return None
    if record.fingerprint != request_fingerprint:
        raise Conflict("This Idempotency-Key was already used with a different request.")
    return record.resource_id


def remember(session: Session, *, scope: str, key: str, request_fingerprint: str, resource_id: str) -> None:
    session.add(IdempotencyRecord(scope=scope, key=key, fingerprint=request_fingerprint, resource_id=resource_id))

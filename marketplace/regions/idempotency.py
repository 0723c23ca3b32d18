"""Idempotency keys: a retried write returns what the first one did instead of doing it twice.

The record lives on the shard of the resource it created and commits with it, so a key is
either bound to a finished write or free; there is no "in progress" state to clean up.
(Merchant sign-ups keep theirs in the directory instead: see merchants.accounts.sign_up.) Keys
of a merchant's own writes are scoped to that merchant: two merchants' clients may pick the
same key, and neither can learn anything about the other's through it.

Writes that create something take the `Idempotency-Key` header (OPENAPI_HEADER documents it).
API keys do not: a replay could not show the secret again, which is kept only as a digest.
Keys are remembered for KEY_DAYS days (relays prune older ones with the outbox): a retry
comes within minutes, and the table must not grow for ever.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from marketplace.errors import Conflict, InvalidInput
from marketplace.regions.base import utcnow
from marketplace.regions.batches import delete_in_batches
from marketplace.regions.models import IdempotencyRecord, RegistrationKey

_KEY_SHAPE = re.compile(r"^[\x21-\x7e]{1,255}$")
T = TypeVar("T")
KEY_DAYS = 30
OPENAPI_HEADER = {
    "in": "header", "name": "Idempotency-Key", "required": False, "schema": {"type": "string", "pattern": _KEY_SHAPE.pattern},
    "description": "Any unique string (a UUID, say). Sending the same request again with the same key returns "
                   "what the first one created instead of creating it twice; the same key with another request "
                   "is a 409. Keys are remembered for 30 days.",
}


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


def prune(router, region: str, *, older_than: timedelta = timedelta(days=KEY_DAYS),
          max_batches: int | None = None) -> tuple[int, bool]:
    """Forget the region's keys older than `older_than`, in batches; (deleted, more left)."""
    return delete_in_batches(lambda: router.unit_of_work(region), IdempotencyRecord,
                             (IdempotencyRecord.scope, IdempotencyRecord.key),
                             IdempotencyRecord.created_at < utcnow() - older_than, max_batches=max_batches)


def prune_registrations(router, *, older_than: timedelta = timedelta(days=KEY_DAYS),
                        max_batches: int | None = None) -> tuple[int, bool]:
    """Forget the directory's registration keys (see merchants.accounts.sign_up) older than
    `older_than`; (deleted, more left)."""
    return delete_in_batches(router.directory, RegistrationKey, (RegistrationKey.key,),
                             RegistrationKey.created_at < utcnow() - older_than, max_batches=max_batches)


def merchant_scope(operation: str, merchant_id: str) -> str:
    return f"{operation}:{merchant_id}"


def replayed(router, region: str, *, scope: str, key: str | None, request_fingerprint: str,
             fetch: Callable[[Session, str], T]) -> T | None:
    """What an earlier request with this key created (fetched by its id), or None. A key whose
    resource was deleted since stays used: replaying it cannot answer what it did."""
    if key is None:
        return None
    with router.unit_of_work(region, read_only=True) as uow:
        resource_id = prior_result(uow.session, scope=scope, key=key, request_fingerprint=request_fingerprint)
        found = fetch(uow.session, resource_id) if resource_id else None
    if resource_id and found is None:
        raise Conflict(f"What this Idempotency-Key created ({resource_id}) was deleted since; send a new key "
                       f"to create it again.")
    return found

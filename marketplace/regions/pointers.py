"""Directory pointers as events: how every region's copy of the directory learns where the
other regions' parties live (docs/decisions/0004).

Each region owns the pointers of its own parties. Whatever writes a party's row on its home
shard (a sign-up's merchant and owner, a staff addition, an API key) publishes its pointer on
that shard's outbox, in the same transaction: the pointer is announced if and only if the row
exists. The named consumer `directory-copy` applies it, in every region, to that region's
copy, in order per party (the partition key is the party id), once (its inbox).

A pointer carries no personal data: the party id, its kind, its home region, and for a
merchant its storefront handle, for a staff user the keyed digest of the email they sign in
with and their merchant's id. Applying one is an upsert, so a repeat changes nothing, and a
later pointer of the same party (a new handle, a new region) replaces the earlier one. It
also settles any pending claim the pointer fulfils (the same name for the same holder): the
account it was waiting for exists, since the pointer was published with it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from marketplace.events.envelope import Envelope
from marketplace.regions import outbox
from marketplace.regions.models import DirectoryEntry, NameClaim, SignInHandle, StorefrontHandle

TOPIC = "directory.pointer"
CONSUMER = "directory-copy"
HANDLE, EMAIL = "handle", "email"  # the kinds of marketplace-wide names (NameClaim.kind)


def pointer(*, party_id: str, kind: str, region: str, handle: str | None = None, email_digest: str | None = None,
            merchant_id: str | None = None) -> dict[str, Any]:
    """The pointer of one party, as the event carries it."""
    found = {"party_id": party_id, "kind": kind, "region": region}
    if handle is not None:
        found["handle"] = handle
    if email_digest is not None:
        found |= {"email_digest": email_digest, "merchant_id": merchant_id}
    return found


def publish(session: Session, found: dict[str, Any]) -> str:
    """Announce a pointer on the party's home shard, in the transaction that writes its row."""
    return outbox.publish(session, TOPIC, found, key=found["party_id"])


def apply(session: Session, found: dict[str, Any]) -> None:
    """Write a pointer into the directory `session` is on (a region's copy, or the one
    directory), replacing the party's earlier one, and settle the claim it fulfils."""
    party_id, region = found["party_id"], found["region"]
    _upsert(session, DirectoryEntry, {"party_id": party_id, "kind": found["kind"], "region": region}, ["party_id"])
    if (handle := found.get("handle")) is not None:
        session.execute(delete(StorefrontHandle).where(StorefrontHandle.merchant_id == party_id,
                                                       StorefrontHandle.handle != handle))
        _upsert(session, StorefrontHandle, {"handle": handle, "merchant_id": party_id, "region": region}, ["handle"])
        _settle(session, HANDLE, handle, party_id)
    if (email_digest := found.get("email_digest")) is not None:
        _upsert(session, SignInHandle, {"email_digest": email_digest, "staff_id": party_id, "region": region},
                ["email_digest"])
        _settle(session, EMAIL, email_digest, party_id)


def register(handlers, router) -> None:
    """The `directory-copy` consumer, in a process whose directory is its region's own copy;
    elsewhere the one directory already holds every pointer (written when names are confirmed)."""
    if not router.settings.directory_copy:
        handlers.announce(TOPIC)
        return

    @handlers.consumer(CONSUMER, TOPIC, everywhere=True)
    def copy(envelope: Envelope) -> None:
        # The inbox is on the shard, the copy is another database: an upsert is safe to repeat.
        with router.directory() as uow:
            apply(uow.session, envelope.payload)
            uow.commit()


def _settle(session: Session, kind: str, name: str, holder_id: str) -> None:
    session.execute(delete(NameClaim).where(NameClaim.kind == kind, NameClaim.name == name,
                                            NameClaim.holder_id == holder_id))


def _upsert(session: Session, model, values: dict[str, Any], keys: list[str]) -> None:
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model).values(**values)
    changed = {name: value for name, value in values.items() if name not in keys}
    session.execute(insert.on_conflict_do_update(index_elements=keys, set_=changed))

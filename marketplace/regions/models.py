"""Platform tables: the directory's pointers, and on every shard the outbox and the
idempotency records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, column_property, mapped_column

from marketplace.regions.base import DirectoryBase, ShardBase, UTCDateTime, utcnow


class DirectoryEntry(DirectoryBase):
    """Where a party (merchant, buyer) lives. Holds no private data: only the pointer."""

    __tablename__ = "directory_entries"

    party_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RegistrationKey(DirectoryBase):
    """The Idempotency-Key of a merchant registration. In the directory, not on a shard: the
    region follows from the request, so only here is the same key seen whatever the country."""

    __tablename__ = "registration_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    merchant_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxEvent(ShardBase):
    """An event written in the same transaction as the change it announces.

    Lifecycle: pending (delivered_at and parked_at empty) -> claimed by one relay for a lease
    -> delivered, or back to pending with a later `available_at` after a failure, or parked
    after too many failures, until an operator replays it.
    """

    __tablename__ = "outbox_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The envelope (see marketplace.events.envelope): the id, region, topic and created_at
    # above are its event id, source region, topic and occurred_at.
    partition_key: Mapped[str | None] = mapped_column(String(120))
    correlation_id: Mapped[str | None] = mapped_column(String(40))
    causation_id: Mapped[str | None] = mapped_column(String(40))
    schema_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __table_args__ = (
        Index("ix_outbox_events_ready", "id", postgresql_where=text("delivered_at IS NULL AND parked_at IS NULL"),
              sqlite_where=text("delivered_at IS NULL AND parked_at IS NULL")),
    )


class InboxEntry(ShardBase):
    """An event a named consumer has applied in this region: a redelivery finds it and does
    nothing. Written in the consumer's own transaction (or right after its idempotent side
    effect), so "applied" and "recorded" cannot part."""

    __tablename__ = "inbox"

    consumer: Mapped[str] = mapped_column(String(60), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsumerDelivery(ShardBase):
    """One event still to be applied by one named consumer in this region: its own attempts,
    backoff and parked state, so a failing consumer is retried alone. The embedded transport
    queues every delivery here; the broker transport only those parked after their attempts
    (and replayed). Deleted once applied: the inbox then remembers it."""

    __tablename__ = "consumer_deliveries"

    consumer: Mapped[str] = mapped_column(String(60), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partition_key: Mapped[str] = mapped_column(String(120))
    envelope: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_consumer_deliveries_key", "consumer", "partition_key", "event_id"),)


class IdempotencyRecord(ShardBase):
    """A write that was already done under this key, so a retry returns it instead of
    doing it twice. Kept on the shard of the resource, in the same transaction."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(60), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # for expiry


class StorefrontHandle(DirectoryBase):
    """Storefront handles are unique across the whole marketplace, so they live here."""

    __tablename__ = "storefront_handles"

    handle: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(String(40), unique=True)
    region: Mapped[str] = mapped_column(String(8))


class SignInHandle(DirectoryBase):
    """Finds a staff user's region at sign-in from a keyed digest of the email address: the
    directory never holds the address itself."""

    __tablename__ = "sign_in_handles"

    email_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(8))


class NameClaim(DirectoryBase):
    """A storefront handle or a sign-in email (its keyed digest) taken by a sign-up or a staff
    addition whose account is not known to be on its home shard yet.

    Pending until settled (see marketplace.merchants.name_claims): confirmed, the row gives way
    to its pointer (StorefrontHandle or SignInHandle); released, it is deleted. So the
    pointers only ever name rows that exist, and the primary key keeps the name taken in
    between. The lease is on the directory's clock: `expired` is computed by the database."""

    __tablename__ = "name_claims"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # handle | email
    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # the handle, or the email's digest
    holder_id: Mapped[str] = mapped_column(String(40))  # the merchant (handle) or staff user (email)
    merchant_id: Mapped[str] = mapped_column(String(40), index=True)  # the account: settled together
    region: Mapped[str] = mapped_column(String(8))  # the holder's home shard, where its row settles the claim
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    expired: Mapped[bool] = column_property(expires_at < func.now())

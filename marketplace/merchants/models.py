"""Merchant accounts, their staff, API keys and password resets: all on the merchant's home
shard only. The directory holds pointers to them and nothing private."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.regions.base import ShardBase, UTCDateTime, utcnow


class Merchant(ShardBase):
    __tablename__ = "merchants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))  # the trading name, shown to buyers
    home_country: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    legal_name: Mapped[str | None] = mapped_column(String(200))
    tax_id: Mapped[str | None] = mapped_column(String(40))
    default_currency: Mapped[str | None] = mapped_column(String(3))
    languages: Mapped[list[str] | None] = mapped_column(JSON)  # the first is the default
    handle: Mapped[str | None] = mapped_column(String(40), unique=True)

    @property
    def default_language(self) -> str:
        return (self.languages or ["en"])[0]


class StaffUser(ShardBase):
    __tablename__ = "staff_users"
    __table_args__ = (UniqueConstraint("merchant_id", "email"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))  # owner | staff
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffSession(ShardBase):
    """A signed-in browser. The cookie carries the token; only its digest is kept here, in the
    staff user's home region, so signing out (here or everywhere), a password reset or a role
    change ends the session on the server, whatever copies of the cookie exist."""

    __tablename__ = "staff_sessions"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # A new API key's secret between the POST that made it and the page that shows it once,
    # sealed with a one-time pad that only this browser's cookie holds (sessions.seal_for_showing).
    sealed_secret: Mapped[str | None] = mapped_column(String(200))


class ApiKey(ShardBase):
    """Only a digest of the secret is kept; the key is shown once, when it is made.

    A key acts with the role its maker had (never more), and records who made it: a staff
    user signed in, or another key, so that an owner can see what a key left behind."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    role: Mapped[str] = mapped_column(String(10), default="staff")  # owner | staff: its maker's
    created_by_staff_id: Mapped[str | None] = mapped_column(String(40))
    created_by_key_id: Mapped[str | None] = mapped_column(String(40))


class PasswordReset(ShardBase):
    __tablename__ = "password_resets"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

"""Buyers, their companies, addresses, device sessions and tokens: all on the buyer's home
shard only. The directory holds pointers (party id -> region, a keyed email digest -> buyer)
and nothing private: no name, no address, no token. One exception, NetTermsGrant, is the
merchant's and lives on its shard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.regions.base import DirectoryBase, ShardBase, UTCDateTime, utcnow


class Company(ShardBase):
    """A B2B buyer: the id merchants name on price lists (catalog PriceList.company_ids). Its
    users are buyers with a company role, homed in the company's region."""

    __tablename__ = "companies"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    tax_registration_number: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Buyer(ShardBase):
    __tablename__ = "buyers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    home_country: Mapped[str] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))  # the display currency the buyer prefers
    company_id: Mapped[str | None] = mapped_column(ForeignKey("companies.id"), index=True)
    company_role: Mapped[str | None] = mapped_column(String(10))  # buyer | approver | admin
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BuyerAddress(ShardBase):
    """A delivery or billing address of a buyer (owner_id buy_…) or of a company (cmp_…)."""

    __tablename__ = "buyer_addresses"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    owner_id: Mapped[str] = mapped_column(String(40), index=True)
    label: Mapped[str | None] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(200))
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BuyerSession(ShardBase):
    """One signed-in device: the family of its access and refresh tokens. Revoked when the
    device signs out, when the buyer signs out everywhere or resets the password, and when one
    of its refresh tokens is presented a second time (someone else holds a copy)."""

    __tablename__ = "buyer_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_why: Mapped[str | None] = mapped_column(String(20))  # signed out | everywhere | refresh reused | password reset


class BuyerToken(ShardBase):
    """A refresh token of a session: only the digest of its secret is kept. It is spent
    (`used_at`) by the refresh that replaces it. Access tokens are signed, not stored (see
    marketplace.buyers.tokens)."""

    __tablename__ = "buyer_tokens"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    session_id: Mapped[str] = mapped_column(ForeignKey("buyer_sessions.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BuyerPasswordReset(ShardBase):
    __tablename__ = "buyer_password_resets"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BuyerSignInHandle(DirectoryBase):
    """Finds a buyer's region at sign-in from a keyed digest of the email: the directory never
    holds the address itself. One per email: buyer emails are unique among buyers."""

    __tablename__ = "buyer_sign_in_handles"

    email_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    buyer_id: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(8))


class NetTermsGrant(ShardBase):
    """A merchant's grant of net payment terms to a buyer company: pay by invoice within `days`.
    Unlike the rest of this module it lives on the merchant's shard: it is the merchant's
    decision, read where the merchant's orders are taken. It names the company by id only."""

    __tablename__ = "net_terms_grants"

    merchant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(8))
    days: Mapped[int] = mapped_column(Integer)
    granted_by: Mapped[str] = mapped_column(String(80))  # "merchant:<staff or key id>"
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

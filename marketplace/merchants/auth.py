"""Who is calling: a staff user signed in with a session cookie, or a merchant API key.

Either way the result is a Principal naming one merchant; every merchant-facing service takes
it and touches that merchant's rows only, so another merchant's ids simply are not found.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from marketplace.errors import DomainError, PermissionDenied

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


class NotAuthenticated(DomainError):
    status = 401
    title = "Not authenticated"
    slug = "not-authenticated"


ROLES = ("owner", "staff")


@dataclass(frozen=True)
class Principal:
    """A staff user (staff_id) or an API key (api_key_id) acting for one merchant. An API key
    carries the role of the staff user who made it, so a key is never worth more than its maker."""

    merchant_id: str
    region: str
    staff_id: str | None = None
    role: str = "staff"
    api_key_id: str | None = None

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    def require_owner(self, action: str) -> None:
        """PermissionDenied (403) unless an owner is acting: keys, staff and account settings."""
        if not self.is_owner:
            raise PermissionDenied(f"Only an owner can {action}.")


def password_problems(password: str) -> dict[str, list[str]]:
    """The one password rule for merchants' staff and buyers alike, as a form error."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return {"password": [f"at least {MIN_PASSWORD_LENGTH} characters"]}
    return {}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = hash_password("not-a-real-password-0")


def burn_password_check(password: str) -> None:
    """Spend the time a real check would, so response times do not reveal unknown emails."""
    password_matches(_DUMMY_HASH, password)


def digest(secret_key: str, value: str) -> str:
    """A keyed digest: stable for lookups, useless to anyone without the key."""
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sha256(value: str) -> str:
    """For high-entropy secrets (API keys, reset tokens) a plain digest suffices."""
    return hashlib.sha256(value.encode()).hexdigest()

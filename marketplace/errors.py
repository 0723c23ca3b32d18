"""Domain errors, raised by services and rendered in one place (see marketplace.problems).

Each class carries the HTTP status it maps to, so a service never thinks about HTTP and a
view never translates exceptions by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, *, errors: Mapping[str, Sequence[str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = dict(errors or {})

    def extra(self) -> dict[str, object]:
        """Further members of the problem document."""
        return {}


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"
    slug = "invalid-input"


class NotFound(DomainError):
    status = 404
    title = "Not found"
    slug = "not-found"


class PermissionDenied(DomainError):
    status = 403
    title = "Permission denied"
    slug = "permission-denied"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class PaymentDeclined(DomainError):
    status = 402
    title = "Payment declined"
    slug = "payment-declined"


class RegionUnavailable(DomainError):
    """A regional database cannot be reached; the caller should retry after a pause."""

    status = 503
    title = "Region unavailable"
    slug = "region-unavailable"

    def __init__(self, region: str, *, retry_after: int, reason: str = "unreachable"):
        super().__init__(f"The {region} data center is not reachable ({reason}); try again shortly.")
        self.region = region
        self.retry_after = max(1, int(retry_after))

    def extra(self) -> dict[str, object]:
        return {"region": self.region}


class SearchUnavailable(DomainError):
    """The search engine cannot answer now (unreachable, overloaded); retry after a pause."""

    status = 503
    title = "Search unavailable"
    slug = "search-unavailable"
    retry_after = 5

"""How a delivery is signed, and how a receiver checks it (the README shows the same check).

`CPU-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>`.
The timestamp is inside the signed text, so a receiver that refuses old timestamps (five
minutes is usual) refuses a replayed delivery too."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "CPU-Signature"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header_value: str, body: bytes, *, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a merchant's receiver does: the v1 signature matches and the timestamp is recent."""
    parts = dict(item.split("=", 1) for item in header_value.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, timestamp, body))

"""What the product form was loaded with, so a stale save can say which fields changed since.

The form is read in one request and saved in another; the catalog refuses a save whose
revision is not the stored one (StaleRevision), but the revision alone says only *that* the
product changed. To say *what* changed, the form carries a short digest of each field's value
as it was loaded. Comparing those digests with the product as it is now names exactly the
fields someone else changed; comparing the merchant's submitted values with it instead
would mix in the merchant's own edits. The digests are 32 bits: a changed field is missed
only on a collision (about one in four billion), and they reveal nothing the page does not
already show. A tampered snapshot misleads only its sender: the revision is what guards the
write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

NOT_FIELDS = frozenset({"rows", "revision", "loaded", "csrf_token"})


def snapshot(values: Mapping[str, str]) -> str:
    """`name=digest` of each non-empty field, space-separated: the hidden `loaded` input."""
    return " ".join(f"{name}={_digest(value)}" for name, value in values.items() if name not in NOT_FIELDS and value)


def changed_since(loaded: str, current: Mapping[str, str]) -> list[str] | None:
    """The fields whose value differs from the snapshot `loaded`, in the form's order (fields
    now gone last); None when there is no snapshot to compare with."""
    pairs = [item.partition("=") for item in loaded.split()]
    if not pairs or any(not name or not digest for name, _, digest in pairs):
        return None
    before = {name: digest for name, _, digest in pairs}
    empty = _digest("")
    names = [name for name in current if name not in NOT_FIELDS] + [name for name in before if name not in current]
    return [name for name in names if before.get(name, empty) != _digest(current.get(name) or "")]


def _digest(value: str) -> str:
    return hashlib.blake2b(value.encode("utf-8"), digest_size=4).hexdigest()

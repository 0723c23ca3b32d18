"""The envelope an event crosses a sea in.

Everything a consumer in another data center needs to act without reading the source shard:
the event id (also the broker's de-duplication id and the inbox key), the partition key (the
aggregate it concerns: events of one key are applied in order), correlation and causation
ids (which request started the chain, which event caused this one), the source region, when
it happened, and the payload. `schema_version` lets a consumer refuse (and so park) an
envelope newer than it understands instead of misreading it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

SCHEMA_VERSION = 1
SUBJECT_PREFIX = "cpu.events"


@dataclass(frozen=True)
class Envelope:
    event_id: str
    topic: str
    key: str
    source_region: str
    occurred_at: datetime
    payload: dict[str, Any]
    correlation_id: str | None = None
    causation_id: str | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def subject(self) -> str:
        """Where the broker files it: by source region, then topic."""
        return f"{SUBJECT_PREFIX}.{self.source_region}.{self.topic}"

    def to_dict(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict, which deep-copies the payload: the
        # relay builds one per event, and asdict alone cost more than publishing it.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["occurred_at"] = self.occurred_at.isoformat()
        return data

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Envelope:
        if data.get("schema_version", SCHEMA_VERSION) > SCHEMA_VERSION:
            raise ValueError(f"envelope schema version {data['schema_version']} is newer than this code's {SCHEMA_VERSION}")
        return cls(**{**data, "occurred_at": datetime.fromisoformat(data["occurred_at"])})

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.from_dict(json.loads(raw))

"""Which event ids a key space has seen: new, exact repeat, conflict, or redelivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Seen(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REDELIVERED = "redelivered"  # the very message already handled, read again after a restart


@dataclass
class Ledger:
    """Event ids seen in one key space, with the digest of the version that stands, and
    every message (by provenance) already handled, with its outcome."""

    digests: dict[str, str] = field(default_factory=dict)
    handled: dict[str, str] = field(default_factory=dict)

    def check(self, event_id: str, digest: str, ref: str) -> Seen:
        if ref in self.handled:
            return Seen.REDELIVERED
        known = self.digests.get(event_id)
        if known is None:
            outcome = Seen.NEW
            self.digests[event_id] = digest
        else:
            outcome = Seen.DUPLICATE if known == digest else Seen.CONFLICT
        self.handled[ref] = outcome.value
        return outcome

    def outcome_of(self, ref: str) -> Seen:
        return Seen(self.handled[ref])

    def to_json(self) -> dict[str, dict[str, str]]:
        return {"digests": self.digests, "handled": self.handled}

    @classmethod
    def from_json(cls, data: dict[str, dict[str, str]] | None) -> Ledger:
        if not data:
            return cls()
        return cls(dict(data["digests"]), dict(data["handled"]))

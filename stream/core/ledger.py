"""Which event ids a key space has seen: new, exact repeat, conflict, or redelivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Seen(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REDELIVERED = "redelivered"  # the very message already handled, read again after a restart
    # New, but its key's state is full (stream.core.lifecycle): refused, and not noted, so
    # that read again, or repeated, it is refused again.
    OVER_LIMIT = "over-limit"


@dataclass
class Ledger:
    """Event ids seen in one key space, with the digest of the version that stands, and
    the messages (by provenance) that brought a new event.

    A repeat is not noted: it changes nothing, so read again after a restart it is found
    a repeat again (the digest that stands never changes), with the same outcome. The
    ledger grows with the events of the key, never with its repeats."""

    digests: dict[str, str] = field(default_factory=dict)
    handled: dict[str, str] = field(default_factory=dict)

    def check(self, event_id: str, digest: str, ref: str) -> Seen:
        if ref in self.handled:
            return Seen.REDELIVERED
        known = self.digests.get(event_id)
        if known is not None:
            return Seen.DUPLICATE if known == digest else Seen.CONFLICT
        self.digests[event_id] = digest
        self.handled[ref] = Seen.NEW.value
        return Seen.NEW

    def forget(self, event_id: str, ref: str) -> None:
        """Undo the noting of a new event that was then refused."""
        self.digests.pop(event_id, None)
        self.handled.pop(ref, None)

    def outcome_of(self, ref: str) -> Seen:
        """What a handled message was (ledgers stored before repeats went unnoted may
        also name a repeat)."""
        return Seen(self.handled[ref])

    def to_json(self) -> dict[str, dict[str, str]]:
        return {"digests": self.digests, "handled": self.handled}

    @classmethod
    def from_json(cls, data: dict[str, dict[str, str]] | None) -> Ledger:
        if not data:
            return cls()
        return cls(dict(data["digests"]), dict(data["handled"]))

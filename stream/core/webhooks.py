"""Buyer notifications (DOMAIN.md, "Buyer notifications"): which subscription a status
update is for, the queue of one subscription and one declaration, and what an
attempt's answer means. No clock, no randomness, no I/O: times and jitter come in.

A subscription's deliveries are queued per declaration: a declaration whose receiver
keeps failing holds back only its own later updates, never the buyer's others. Within a
queue updates leave in sequence order, and a sequence at or below the highest one
queued is never queued again (a repeat, read again after a restart), so a lower
sequence is never delivered after a higher one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

RETRY_FOR = 24 * 3600.0  # seconds from an update's first attempt to its last
FIRST_DELAY = 5.0  # the first retry's delay, doubled for each one after it
LONGEST_DELAY = 3600.0  # no retry waits longer than this (nor than Retry-After asks)
CLIENT_ERROR_DELAY = 600.0  # a 4xx other than 408, 410 and 429: the receiver must act
TRANSIENT = frozenset({408, 429})


@dataclass(frozen=True)
class Filters:
    """What a subscription asks for; an empty set asks for everything."""

    statuses: frozenset[str] = frozenset()
    ports: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()

    def match(self, update: dict[str, Any]) -> bool:
        return all(
            not wanted or update.get(name) in wanted
            for name, wanted in (
                ("status", self.statuses), ("port", self.ports), ("channel", self.channels),
            )
        )


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DISABLED = "disabled"  # 410 Gone: the receiver asks to be forgotten
    GIVEN_UP = "given_up"  # the last try failed: the update becomes a dead letter


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str
    next_at: float | None = None  # when to try again (RETRY)


def verdict(
    answer: int | None, problem: str, attempts: int, first_at: float, now: float,
    jitter: float, retry_after: float | None = None, retry_for: float = RETRY_FOR,
    first_delay: float = FIRST_DELAY, refused: bool = False,
) -> Verdict:
    """What the ``attempts``-th attempt (1, 2, ...) of an update first tried at
    ``first_at`` means: ``answer`` is the HTTP status, or None when there was none
    (``problem`` says why: a timeout, a refused address). ``jitter`` in [0, 1) spreads
    retries (each waits between half and all of its exponential delay). ``refused``:
    the receiver's address is not one a webhook may reach; nothing was sent, and trying
    again would not help, so the update is given up at once."""
    if answer is not None and 200 <= answer < 300:
        return Verdict(Outcome.DELIVERED, f"HTTP {answer}")
    if refused:
        return Verdict(Outcome.GIVEN_UP, f"refused: {problem}")
    if answer == 410:
        return Verdict(Outcome.DISABLED, "HTTP 410: the receiver is gone")
    reason = f"HTTP {answer}" if answer is not None else problem
    if answer is not None and answer < 500 and answer not in TRANSIENT:
        delay = CLIENT_ERROR_DELAY
    else:
        delay = min(LONGEST_DELAY, first_delay * 2 ** min(attempts - 1, 30)) * (0.5 + jitter / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, LONGEST_DELAY))
    next_at = now + delay
    if next_at > first_at + retry_for:
        return Verdict(Outcome.GIVEN_UP, f"{reason}, after {attempts} attempts")
    return Verdict(Outcome.RETRY, reason, next_at)


@dataclass
class Queue:
    """The updates of one declaration waiting for one subscription, oldest first, with
    the highest sequence ever queued and the state of the first one's attempts."""

    pending: list[tuple[int, str]] = field(default_factory=list)  # (sequence, body)
    highest: int = 0
    attempts: int = 0
    first_at: float | None = None  # when the first update was first tried
    next_at: float = 0.0  # when to try it (again)

    def offer(self, sequence: int, body: str, now: float) -> bool:
        """Queue an update unless its sequence was queued before; True when queued."""
        if sequence <= self.highest:
            return False
        if not self.pending:
            self.next_at = now
        self.pending.append((sequence, body))
        self.highest = sequence
        return True

    def settle(self, result: Verdict, now: float) -> None:
        """After an attempt at the first update: delivered or given up, it leaves the
        queue and the next is due at once; else it waits for its next try."""
        if result.outcome is Outcome.RETRY:
            self.attempts += 1
            self.next_at = result.next_at if result.next_at is not None else now
            return
        if result.outcome is Outcome.DISABLED:
            self.attempts += 1
            return
        self.pending.pop(0)
        self.attempts, self.first_at, self.next_at = 0, None, now

    def to_json(self) -> dict[str, Any]:
        return {"pending": [list(p) for p in self.pending], "highest": self.highest,
                "attempts": self.attempts, "first_at": self.first_at, "next_at": self.next_at}

    @classmethod
    def of(cls, queues: dict[str, Any], key: str) -> Queue:
        """The queue ``key`` of a declaration's queues (their JSON forms), or a new one."""
        return cls.from_json(queues[key]) if key in queues else cls()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Queue:
        return cls([(int(s), str(b)) for s, b in data["pending"]], int(data["highest"]),
                   int(data["attempts"]), data["first_at"], float(data["next_at"]))

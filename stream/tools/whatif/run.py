"""A what-if run: input messages read once, as the pipeline reads them, then every
declaration decided under both policies with the pure core. Nothing is written anywhere
the pipeline reads: no offsets, no outputs, no state."""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from schemas.events import FirmEvent, LifecycleEvent, ReturnDeclared, parse_event
from stream.core.eligibility import FirmHistory
from stream.core.ledger import Seen
from stream.core.policy import Policy
from stream.ingest import Decoded, decode
from stream.tools.whatif.compare import Outcome, outcome_of
from stream.tools.whatif.report import Report
from stream.tools.whatif.sources import Progress
from stream.tools.whatif.spool import LIFECYCLE, RETURN, Spool


@dataclass(frozen=True)
class Window:
    """Declarations taken into account: those whose content in force is dated in
    [since, until); None leaves that end open."""

    since: datetime | None = None
    until: datetime | None = None

    def holds(self, t: datetime) -> bool:
        return (self.since is None or t >= self.since) and (self.until is None or t < self.until)


class WhatIf:
    def __init__(self, baseline: Policy, proposed: Policy, window: Window = Window()) -> None:
        self.baseline, self.proposed, self.window = baseline, proposed, window
        self._folder = tempfile.TemporaryDirectory(prefix="customs-whatif-")
        self.spool = Spool(Path(self._folder.name))
        self.histories: dict[str, FirmHistory] = {}
        # The firms agent's ledger, without its record of every message handled (a what-if
        # run reads each message once, so there is no redelivery to tell apart).
        self._firm_digests: dict[tuple[str, str], str] = {}
        self.messages = 0
        self.unreadable: Counter[str] = Counter()  # what the pipeline would dead-letter
        self.repeats: Counter[str] = Counter()  # duplicates and conflicts, ignored

    def feed(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """One input message, exactly as the pipeline admits it."""
        self.messages += 1
        result = decode(topic, key, value)
        if not isinstance(result, Decoded):
            self.unreadable[result.code.value] += 1
            return
        event = result.event
        if isinstance(event, FirmEvent):
            self._firm_fact(event, result.digest)
            return
        space = RETURN if isinstance(event, ReturnDeclared) else LIFECYCLE
        seen = self.spool.add(event.key, space, event.event_id, result.digest, value or b"")
        if seen is not Seen.NEW:
            self.repeats[seen.value] += 1
        elif isinstance(event, ReturnDeclared):  # a new return is also a fact of its firm
            self.histories.setdefault(event.firm_id, FirmHistory()).add(event)

    def _firm_fact(self, event: FirmEvent, digest: str) -> None:
        known = self._firm_digests.setdefault((event.firm_id, event.event_id), digest)
        if known != digest:
            self.repeats[Seen.CONFLICT.value] += 1
        elif not self.histories.setdefault(event.firm_id, FirmHistory()).add(event):
            self.repeats[Seen.DUPLICATE.value] += 1

    def outcomes(self, progress: Progress = lambda done, total: None) -> Iterator[Outcome]:
        """Every declaration with a filing in the window, under both policies."""
        total = self.spool.count()
        for done, (declaration_id, stored) in enumerate(self.spool.declarations(), start=1):
            if done % 1000 == 0 or done == total:
                progress(done, total)
            events: list[LifecycleEvent] = []
            returns: list[ReturnDeclared] = []
            for space, body in stored:
                event = parse_event(orjson.loads(body))
                if space == RETURN and isinstance(event, ReturnDeclared):
                    returns.append(event)
                elif isinstance(event, LifecycleEvent):
                    events.append(event)
            outcome = outcome_of(declaration_id, events, returns, self.histories.get,
                                 self.baseline, self.proposed)
            if outcome is not None and self.window.holds(outcome.as_of):
                yield outcome

    def report(self, progress: Progress = lambda done, total: None) -> dict[str, Any]:
        report = Report(self.baseline, self.proposed)
        for outcome in self.outcomes(progress):
            report.add(outcome)
        return {
            "input": {
                "messages": self.messages,
                "unreadable": dict(sorted(self.unreadable.items())),
                "repeats": dict(sorted(self.repeats.items())),
                "firms": len(self.histories),
            },
        } | report.to_json(self.histories, self.window.until)

    def close(self) -> None:
        self.spool.close()
        self._folder.cleanup()

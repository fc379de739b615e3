"""Removal of declarations closed longer ago than the policy's retention (the rule is in
stream.core.retention), with tombstones in the tables' changelogs.

Each closed declaration is listed under the UTC day of its latest event (key
``partition:YYYY-MM-DD`` of ``declaration-closings``; key ``partition`` lists those days),
so that a sweep reads only what may have expired, never the whole state. A sweep runs
in the lifecycle agent, as part of the message that moves its partition's stream time
to a new day: its tombstones are held with that message's outputs like any write, and a
sweep cut short by a crash is done again after the restart (removal is idempotent).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from schemas.types import utc_day
from stream.core.lifecycle import DeclarationState
from stream.core.retention import closed_at, cutoff
from stream.runtime.outbox import Outbox
from stream.runtime.pipeline import Pipeline

# An event dated further ahead of the wall clock than this does not move stream time:
# one mistyped year must not make every closed declaration look expired.
AHEAD = timedelta(days=1)
YIELD_EVERY = 20  # declarations removed between two turns of the event loop


class Retention:
    def __init__(
        self, pipeline: Pipeline, outbox: Outbox, remove: Callable[[int, str, datetime], None]
    ) -> None:
        self.closed_days = pipeline.policy.retention.closed_days
        self.outbox = outbox
        self.closings = pipeline.table("declaration-closings", outbox)
        self.remove = remove  # removes a declaration if it is still expired at the time
        self.stream_time: dict[int, datetime] = {}
        self.swept: dict[int, str] = {}  # per partition, the cutoff day last swept

    def note(self, partition: int, state: DeclarationState) -> None:
        """List a closed declaration under the day of its latest event (before the
        state is saved: the state records the day it is listed under)."""
        closed = closed_at(state)
        day = utc_day(closed) if closed is not None else None
        if day is None or state.closing_day == day:
            return
        key = f"{partition}:{day}"
        listed = self.closings.get(key) or []
        if state.declaration_id not in listed:
            self.closings[key] = [*listed, state.declaration_id]
        days = self.closings.get(str(partition)) or []
        if day not in days:
            self.closings[str(partition)] = sorted([*days, day])
        state.closing_day = day

    async def advance(self, partition: int, occurred_at: datetime) -> None:
        """Move the partition's stream time; sweep when the cutoff reaches a new day."""
        latest = self.stream_time.get(partition)
        if latest is not None and occurred_at <= latest:
            return
        if occurred_at > datetime.now(UTC) + AHEAD:
            return
        self.stream_time[partition] = occurred_at
        before = cutoff(occurred_at, self.closed_days)
        day = utc_day(before)
        if self.swept.get(partition) == day:
            return
        self.swept[partition] = day
        await self.sweep(partition, before)

    async def sweep(self, partition: int, before: datetime) -> None:
        """Remove what closed before ``before``: the days wholly before its day."""
        days = self.closings.get(str(partition)) or []
        first_kept = utc_day(before)
        due = [day for day in days if day < first_kept]
        removed = 0
        for day in due:
            for declaration_id in self.closings.get(f"{partition}:{day}") or []:
                removed += 1
                if not removed % YIELD_EVERY:
                    await self.outbox.seal()
                    await asyncio.sleep(0)
                self.remove(partition, declaration_id, before)
            del self.closings[f"{partition}:{day}"]
        if due:
            self.closings[str(partition)] = [day for day in days if day not in due]

"""KPI agent: clearance KPIs per (port, channel), from each declaration's contribution.

All contributions pass through one partition, so one worker holds every sample. The
table keeps each declaration's contribution (small values, cheap changelog); the sorted
samples are rebuilt from it in memory after a rebalance.
"""

from __future__ import annotations

import asyncio
from typing import Any

from stream.agents.common import Outlet, now, start_agent
from stream.codec import loads
from stream.core.kpi import Group, KpiBook
from stream.records import kpi_snapshot
from stream.runtime.pipeline import Pipeline

REBUILD_YIELD_EVERY = 5_000  # contributions rebuilt between two turns of the event loop


class Kpis:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.outlet = Outlet(pipeline)
        outbox = self.outlet.outbox
        self.contributions = pipeline.table("kpi-contributions", outbox, partitions=1)
        self.sequences = pipeline.table("kpi-sequences", outbox, partitions=1)
        self.book: KpiBook | None = None
        pipeline.app.on_partitions_assigned.connect(self._forget_book)

    async def _forget_book(self, *_: Any, **__: Any) -> None:
        self.book = None

    async def _book(self) -> KpiBook:
        """The samples, rebuilt from the table after a rebalance: O(n log n), yielding to
        the event loop as it goes (a large rebuild must not stall heartbeats)."""
        if self.book is None:
            book = KpiBook()
            for n, (declaration_id, (port, channel, hours)) in enumerate(
                self.contributions.items()
            ):
                book.record(declaration_id, (port, channel), hours)
                if n and not n % REBUILD_YIELD_EVERY:
                    await asyncio.sleep(0)
            self.book = book
        return self.book

    async def on_message(self, message: Any) -> None:
        record = loads(message.value)
        declaration_id, hours = record["declaration_id"], record["hours"]
        group: Group | None = None
        if record["port"] is not None and record["channel"] is not None:
            group = (record["port"], record["channel"])
        book = await self._book()
        changed = book.record(declaration_id, group, hours)
        if group is not None and hours is not None:
            self.contributions[declaration_id] = [group[0], group[1], hours]
            if group in changed:  # a new or changed clearance, not a repeat
                port_label = self.pipeline.policy.port_label(group[0])
                self.pipeline.metrics.clearance_hours.labels(port_label, group[1]).observe(hours)
        elif declaration_id in self.contributions:
            del self.contributions[declaration_id]
        # A repeat (a record read again after a crash, or sent again by a lifecycle agent
        # that was) changes nothing, but its contribution was stored before its snapshot
        # could go out, so the snapshot may never have: the group's figures are said again.
        said = changed or ({group} if group is not None else set())
        for port, channel in sorted(said):
            await self.publish(port, channel, book)

    async def publish(self, port: str, channel: str, book: KpiBook) -> None:
        key = f"{port}/{channel}"
        sequence = self.sequences.get(key, 0) + 1  # stored before the snapshot is sent
        self.sequences[key] = sequence
        kpi = book.kpi((port, channel))
        record = kpi_snapshot(kpi, sequence, now()) if kpi else None  # None: a tombstone
        await self.outlet.send("clearance-kpis", key, record)


def register(pipeline: Pipeline) -> Kpis:
    kpis = Kpis(pipeline)
    subscription = pipeline.subscription("clearances")
    start_agent(pipeline, "kpis", subscription, kpis.outlet, kpis.on_message)
    return kpis

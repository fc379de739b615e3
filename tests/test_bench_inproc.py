"""bench.inproc drives the real agents without a broker: what it measures is the worker's
work, so the work must be done (every input handled, every internal record taken)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from bench.inproc import PARTITIONS, drive
from stream.settings import Settings
from stream.tools.simulate import Traffic
from stream.topics import LIFECYCLE_INPUTS


async def test_the_agents_handle_the_traffic_and_what_it_causes(tmp_path: Path) -> None:
    events = list(islice(Traffic(7, datetime(2026, 5, 1, tzinfo=UTC)), 600))
    settings = Settings(web_enabled=False, data_dir=tmp_path, partitions=PARTITIONS,
                        store="memory://")
    sent = await drive(settings, events)
    inputs = sum(sent[t] for t in (*LIFECYCLE_INPUTS, "firms"))
    assert inputs == len(events)
    filed = sum(1 for e in events if e.topic == "declarations")
    assert sent["declaration-status"] >= filed * 0.9  # each declaration's first update
    assert sent["firm-facts"] > 0  # the firms agent's facts, read by the lifecycle
    assert sent["clearances"] > 0 and sent["clearance-kpis"] >= sent["clearances"]  # the KPIs'
    assert sent["dead-letters"] > 0  # the simulator's bad input

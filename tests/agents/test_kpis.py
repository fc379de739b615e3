from __future__ import annotations

import orjson

from stream.runtime.pipeline import Pipeline
from tests.agents.conftest import Captured


def contribution(declaration_id: str, port: str | None, channel: str | None,
                 hours: float | None) -> bytes:
    return orjson.dumps(
        {"declaration_id": declaration_id, "port": port, "channel": channel, "hours": hours}
    )


async def test_snapshots_follow_each_contribution(pipeline: Pipeline, captured: Captured) -> None:
    async with pipeline.app.agents["kpis"].test_context() as agent:
        await agent.put(contribution("1", "CNNGB", "GREEN", 3.0), key=b"1")
        await agent.put(contribution("2", "CNNGB", "GREEN", 30.0), key=b"2")
    snapshots = [s.value for s in captured.on("clearance-kpis")]
    assert [(s["released"], s["sequence"]) for s in snapshots] == [(1, 1), (2, 2)]
    assert snapshots[-1]["within_24h_share"] == 0.5
    assert snapshots[-1]["mean_clearance_hours"] == 16.5
    assert captured.on("clearance-kpis")[-1].key == "CNNGB/GREEN"


async def test_a_group_that_empties_gets_a_tombstone(
    pipeline: Pipeline, captured: Captured
) -> None:
    async with pipeline.app.agents["kpis"].test_context() as agent:
        await agent.put(contribution("1", "CNNGB", "GREEN", 3.0), key=b"1")
        await agent.put(contribution("1", "CNNGB", "STANDARD", 3.0), key=b"1")
    by_key = [(s.key, s.value and s.value["released"]) for s in captured.on("clearance-kpis")]
    assert by_key == [("CNNGB/GREEN", 1), ("CNNGB/GREEN", None), ("CNNGB/STANDARD", 1)]


async def test_a_repeated_contribution_says_its_groups_figures_again(
    pipeline: Pipeline, captured: Captured
) -> None:
    """A contribution read again after a crash was stored before its snapshot could go
    out: the snapshot may never have been sent, so it is sent again (a new sequence)."""
    async with pipeline.app.agents["kpis"].test_context() as agent:
        await agent.put(contribution("1", "CNNGB", "GREEN", 3.0), key=b"1")
        await agent.put(contribution("1", "CNNGB", "GREEN", 3.0), key=b"1")
    snapshots = [s.value for s in captured.on("clearance-kpis")]
    assert [(s["released"], s["sequence"]) for s in snapshots] == [(1, 1), (1, 2)]
    assert snapshots[0]["mean_clearance_hours"] == snapshots[1]["mean_clearance_hours"]
    port = pipeline.policy.port_label("CNNGB")
    observed = pipeline.metrics.clearance_hours.labels(port, "GREEN")
    assert observed._sum.get() == 3.0  # the clearance is observed once, not per repeat

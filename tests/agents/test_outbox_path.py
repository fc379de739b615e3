"""An agent's outputs through the real outbox: they reach the producer only once every
changelog write of their message is acknowledged, and in the order they were made."""

from __future__ import annotations

import json

from stream.runtime.pipeline import Pipeline
from tests.agents.conftest import Captured, read_from, turns_until
from tests.builders import DECL, filed, lifecycle


async def test_outputs_wait_for_the_state_that_records_them(
    pipeline: Pipeline, captured: Captured
) -> None:
    captured.hold = True  # the broker has not acknowledged anything yet
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        await agent.put(json.dumps(filed()).encode(), **read_from("declarations", DECL, 1))
        release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00")
        await agent.put(json.dumps(release).encode(), **read_from("releases", DECL, 2))
        outbox = pipeline.handlers["lifecycle"].outlet.outbox
        await turns_until(lambda: outbox.held == 2)
        assert captured.writes  # the state went to its changelog at once ...
        assert captured.sent == []  # ... and no output has left before it is stored
        captured.hold = False
        captured.acknowledge()
        await turns_until(lambda: captured.on("declaration-status")
                          and len(captured.sent) >= 4)
    statuses = [(s.value["sequence"], s.value["status"]) for s in captured.on(
        "declaration-status")]
    assert statuses == [(1, "ACCEPTED"), (2, "RELEASED")]  # in the order they were made
    writes = [i for i, topic in enumerate(captured.order) if topic.endswith("-changelog")]
    outputs = [i for i, topic in enumerate(captured.order) if not topic.endswith("-changelog")]
    assert writes and outputs and max(writes) < min(outputs)

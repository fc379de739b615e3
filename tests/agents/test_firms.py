from __future__ import annotations

import json

from stream.runtime.pipeline import Pipeline
from tests.agents.conftest import Captured, read_from
from tests.builders import FIRM, enrolled


async def test_a_firm_fact_is_copied_to_every_partition(
    pipeline: Pipeline, captured: Captured
) -> None:
    fact = enrolled()
    async with pipeline.app.agents["firms"].test_context() as agent:
        await agent.put(json.dumps(fact).encode(), **read_from("firms", FIRM, 1))
        await agent.put(json.dumps(fact).encode(), **read_from("firms", FIRM, 2))
        conflicting = {**fact, "name": "Another Name Co."}
        await agent.put(json.dumps(conflicting).encode(), **read_from("firms", FIRM, 3))
    copies = captured.on("firm-facts")
    assert sorted(c.partition for c in copies) == [0, 1, 2, 3]  # type: ignore[type-var]
    assert all(c.key == FIRM and c.value["event_id"] == fact["event_id"] for c in copies)
    assert [d.value["offset"] for d in captured.on("duplicates")] == [2]
    assert [d.value["error_code"] for d in captured.on("dead-letters")] == ["EVENT_ID_CONFLICT"]

"""Slices: an agent seals once for the messages it handled while more were waiting; a
slice never waits for a message, never spans a rebalance, and never merges outputs."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from faust.types.tuples import TP

from stream.agents.slices import Slice
from stream.runtime.batches import partition_for
from stream.runtime.faust_fixes.fetch_slices import FetchSlice
from stream.runtime.pipeline import Pipeline
from tests.agents.conftest import Captured, read_from, turns_until
from tests.builders import DECL, filed, lifecycle


def event(name: str, generation: int = 1) -> Any:
    return SimpleNamespace(name=name, message=SimpleNamespace(generation_id=generation))


def names(events: list[Any]) -> list[str]:
    return [e.name for e in events]


def test_a_message_that_arrives_alone_is_sealed_alone() -> None:
    taken = Slice(limit=200)
    assert taken.before(event("a")) == []
    assert names(taken.after(event("a"), queue_empty=True)) == ["a"]


def test_a_slice_grows_while_messages_wait_and_is_sealed_when_none_does() -> None:
    taken = Slice(limit=200)
    assert taken.after(event("a"), queue_empty=False) == []
    assert taken.after(event("b"), queue_empty=False) == []
    assert names(taken.after(event("c"), queue_empty=True)) == ["a", "b", "c"]
    assert taken.events == []


def test_a_full_slice_is_sealed_though_messages_wait() -> None:
    taken = Slice(limit=2)
    assert taken.after(event("a"), queue_empty=False) == []
    assert names(taken.after(event("b"), queue_empty=False)) == ["a", "b"]
    assert names(taken.after(event("c"), queue_empty=True)) == ["c"]


def test_a_rebalance_mid_slice_seals_the_slice_before_the_next_generation() -> None:
    taken = Slice(limit=200)
    taken.after(event("a", generation=1), queue_empty=False)
    taken.after(event("b", generation=1), queue_empty=False)
    assert names(taken.before(event("c", generation=2))) == ["a", "b"]
    assert taken.before(event("c", generation=2)) == []  # nothing left of generation 1
    assert names(taken.after(event("c", generation=2), queue_empty=True)) == ["c"]


async def test_a_slice_writes_a_declaration_once_and_publishes_each_change(
    pipeline: Pipeline, captured: Captured
) -> None:
    """Two messages of one declaration waiting together: its state is written once (the
    last), both status updates go out, in order, after that write is acknowledged, and
    both messages are acknowledged after them."""
    captured.hold = True
    outbox = pipeline.handlers["lifecycle"].outlet.outbox
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00")
        first = await agent.put(json.dumps(filed()).encode(),
                                **read_from("declarations", DECL, 1), wait=False)
        second = await agent.put(json.dumps(release).encode(),
                                 **read_from("releases", DECL, 2), wait=False)
        await turns_until(lambda: outbox.held)
        assert outbox.held == 1  # one seal for the two messages
        state_writes = [w for w in captured.writes if w.topic.endswith("state-changelog")]
        assert len(state_writes) == 1 and len(state_writes[0].value["events"]) == 2
        assert captured.sent == [] and not first.message.acked
        captured.hold = False
        captured.acknowledge()
        await turns_until(lambda: second.message.acked)
    statuses = [(s.value["sequence"], s.value["status"])
                for s in captured.on("declaration-status")]
    assert statuses == [(1, "ACCEPTED"), (2, "RELEASED")]
    assert first.message.acked and second.message.acked


async def test_a_rebalance_that_clears_the_queue_mid_slice_gets_the_slice_sealed(
    pipeline: Pipeline,
) -> None:
    """Faust clears the agents' queues when a rebalance begins and then waits for every
    message taken to be acknowledged: a slice left waiting for its next message would
    hold the rebalance for ever. The cleared queue gets END, and the slice is sealed."""
    table = pipeline.tables["declaration-state"]
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        queue = agent.stream().channel.queue
        first = await agent.put(json.dumps(filed()).encode(),
                                **read_from("declarations", DECL, 1), wait=False)
        release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00")
        await agent.put(json.dumps(release).encode(), **read_from("releases", DECL, 2),
                        wait=False)
        await turns_until(lambda: table._record_cache)
        assert table._record_cache and queue.qsize() == 1  # the first taken, unsealed
        pipeline.app.flow_control.clear()  # what Faust does as a rebalance begins
        await turns_until(lambda: first.message.acked)
        assert first.message.acked and queue.empty()


# -- a partition's slice of a fetch, as Faust fix 10 hands it over -------------------------

async def test_a_fetch_slice_is_handled_record_by_record_and_sealed_once(
    pipeline: Pipeline, captured: Captured
) -> None:
    """Two records of one declaration in one fetch slice: each is handled as a message
    of its own partition (its state written there, once), the status updates leave in
    order after that write is acknowledged, and both records after them."""
    captured.hold = True
    outbox = pipeline.handlers["lifecycle"].outlet.outbox
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        channel = agent.stream().channel
        await turns_until(lambda: hasattr(channel, "_cs_slice_limit"))
        assert channel._cs_slice_limit == pipeline.settings.slice_events  # it takes slices
        release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00")
        first = agent.to_message(value=json.dumps(filed()).encode(),
                                 **read_from("declarations", DECL, 1))
        second = agent.to_message(value=json.dumps(release).encode(),
                                  **read_from("releases", DECL, 2))
        await channel.queue.put(FetchSlice(TP(first.topic, first.partition), [first, second]))
        await turns_until(lambda: outbox.held)
        assert outbox.held == 1  # one seal for the two records
        state_writes = [w for w in captured.writes if w.topic.endswith("state-changelog")]
        assert len(state_writes) == 1 and len(state_writes[0].value["events"]) == 2
        assert state_writes[0].partition == partition_for(DECL, 4)
        assert captured.sent == [] and not first.acked and not second.acked
        captured.acknowledge()
        captured.hold = False
        await turns_until(lambda: second.acked)
    statuses = [(s.value["sequence"], s.value["status"])
                for s in captured.on("declaration-status")]
    assert statuses == [(1, "ACCEPTED"), (2, "RELEASED")]
    assert first.acked and second.acked


async def test_a_fetch_slice_of_an_earlier_generation_is_not_handled(
    pipeline: Pipeline, captured: Captured
) -> None:
    """Records fetched before a rebalance (another consumer generation) are neither
    handled nor acknowledged: the seek that ends the rebalance reads them again."""
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        channel = agent.stream().channel
        stale = agent.to_message(value=json.dumps(filed()).encode(),
                                 **read_from("declarations", DECL, 1))
        stale.generation_id = pipeline.app.consumer_generation_id - 1
        await channel.queue.put(FetchSlice(TP(stale.topic, stale.partition), [stale]))
        await turns_until(lambda: channel.queue.empty())
        for _ in range(20):
            await asyncio.sleep(0)
        current = agent.to_message(value=json.dumps(filed()).encode(),
                                   **read_from("declarations", DECL, 2))
        await channel.queue.put(FetchSlice(TP(current.topic, current.partition), [current]))
        await turns_until(lambda: current.acked)
    assert current.acked and not stale.acked
    assert [s.value["sequence"] for s in captured.on("declaration-status")] == [1]

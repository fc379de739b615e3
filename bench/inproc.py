"""Broker-free: the worker's agents driven in this process with fake Kafka I/O (a
benchmark, not a test).

    python -m bench.inproc [--events 20000] [--seed 7] [--store memory://] [--profile]

The simulator's traffic goes to the real agents (lifecycle, firms, KPIs) as Faust fix 10
hands a fetch over: slices of one partition's records, through the real outbox and
tables. A producer double acknowledges every send at once, and hands what goes to the
pipeline's internal topics (forwards, firm facts, clearances) back to the agent that
reads them, as the broker would. The collector is set as a worker sets it
(``stream.runtime.heap``). It prints the processor time per input event, the part
of it spent in the garbage collector, and with ``--profile`` a second run's time by part
(cProfile's own time per function, by where the function lives): Faust (and mode), the
tables (Faust's store and the project's record cache), the outbox and outputs, the
agents, the domain (core, ingest, schemas, pydantic), the event loop, builtins.

What it leaves out is what a broker costs: fetching, aiokafka's producer and its
batches, the network. ``bench.pipeline`` measures those, on a real broker.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from faust.types.tuples import TP, Message

from stream.runtime import heap
from stream.runtime.batches import partition_for
from stream.runtime.faust_fixes.fetch_slices import FetchSlice
from stream.runtime.pipeline import Pipeline
from stream.settings import Settings
from stream.tools.simulate import Traffic
from stream.topics import LIFECYCLE_INPUTS
from stream.worker.app import build_pipeline

PARTITIONS = 4
# Which agent reads each topic the agents read (bare names).
READER = {**{t: "lifecycle" for t in LIFECYCLE_INPUTS}, "lifecycle-rekeyed": "lifecycle",
          "firm-facts": "lifecycle", "firms": "firms", "firms-rekeyed": "firms",
          "clearances": "kpis"}


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="The agents in-process, no broker")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--store", default="memory://", help="memory:// or rocksdb://")
    parser.add_argument("--profile", action="store_true", help="a second run, by part")
    return parser


class Delivered(asyncio.Future[Any]):
    """A send the broker has acknowledged: its callbacks run at once."""

    def add_done_callback(self, fn: Any, *, context: Any = None) -> None:
        fn(self)


class Broker:
    """The producer double: every send acknowledged at once; records of the topics the
    agents read are kept, by partition, for ``take``."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.bare = pipeline.topology.bare
        self.offsets: defaultdict[tuple[str, int], int] = defaultdict(int)
        self.waiting: defaultdict[TP, list[Any]] = defaultdict(list)
        self.generation = pipeline.app.consumer_generation_id
        self.by_topic: Counter[str] = Counter()  # records sent, by bare topic name

    async def send(self, topic: str, key: bytes | None, value: bytes | None,
                   partition: int | None, timestamp: Any = None, headers: Any = None) -> Any:
        bare = self.bare(topic)
        self.by_topic[bare] += 1
        if partition is None:  # as the producer's default partitioner (a null key: 0)
            partition = partition_for(key, PARTITIONS) if key else 0
        offset = self.offsets[topic, partition]
        self.offsets[topic, partition] = offset + 1
        if bare in READER:
            self.waiting[TP(topic, partition)].append(
                self.message(topic, partition, offset, key, value, headers))
        delivered = Delivered()
        delivered.set_result(SimpleNamespace(
            topic=topic, partition=partition, offset=offset,
            topic_partition=TP(topic, partition)))
        return delivered

    def message(self, topic: str, partition: int, offset: int, key: bytes | None,
                value: bytes | None, headers: Any) -> Message:
        return Message(topic, partition, offset, time.time(), 0, headers, key, value, b"",
                       0, 0, generation_id=self.generation)

    def take(self) -> dict[TP, list[Any]]:
        waiting, self.waiting = self.waiting, defaultdict(list)
        return waiting


async def drive(settings: Settings, events: list[Any]) -> Counter[str]:
    """Hand ``events`` to the agents and wait until all of it, and all it caused, is
    handled; the records sent (inputs included), by bare topic name."""
    pipeline = build_pipeline(settings)
    broker = Broker(pipeline)
    pipeline.app.producer = broker  # type: ignore[assignment]
    pipeline.app.flow_control.resume()
    async with AsyncExitStack() as stack:
        queues = {}
        for name in ("lifecycle", "firms", "kpis"):
            agent = await stack.enter_async_context(pipeline.app.agents[name].test_context())
            queues[name] = agent.stream().channel.queue
        outboxes = [h.outlet.outbox for h in _handlers(pipeline)]
        heap.freeze_what_start_up_made()  # as a worker does once started
        stack.callback(gc.unfreeze)
        for chunk in _chunks(events, 1_000):
            for record in chunk:
                topic = pipeline.topology.name(record.topic)
                await broker.send(topic, record.key, record.value, None)
            await _until_quiet(pipeline, broker, queues, outboxes)
    return broker.by_topic


def _handlers(pipeline: Pipeline) -> list[Any]:
    return [h for h in pipeline.handlers.values() if hasattr(h, "outlet")]


async def _until_quiet(pipeline: Pipeline, broker: Broker, queues: dict[str, Any],
                       outboxes: list[Any]) -> None:
    """Deliver what waits, slice by slice, until nothing waits anywhere."""
    limit = pipeline.settings.slice_events
    while True:
        waiting = broker.take()
        for tp, messages in waiting.items():
            queue = queues[READER[pipeline.topology.bare(tp.topic)]]
            for start in range(0, len(messages), limit):
                part = messages[start:start + limit]
                for message in part:
                    message.incref(1)
                await queue.put(FetchSlice(tp, part))
        for _ in range(3):
            await asyncio.sleep(0)
        if not waiting and all(q.empty() for q in queues.values()) and \
                not any(o.held for o in outboxes) and not broker.waiting:
            await asyncio.sleep(0.001)  # the agents' last seals
            if not broker.waiting:
                return


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class GcClock:
    """Processor time spent in the garbage collector, through ``gc.callbacks``."""

    def __init__(self) -> None:
        self.seconds, self._began = 0.0, 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.process_time()
        else:
            self.seconds += time.process_time() - self._began


PARTS = (  # where a function lives (its file, or a builtin's name) -> its part; first match
    ("faust/stores", "tables"), ("heldtable", "tables"), ("tablestore", "tables"),
    ("rocksdict", "tables"), ("outbox", "outputs"), ("bench/inproc", "outputs"),
    ("stream/runtime/batches", "outputs"), ("murmur2", "outputs"),  # partition_for's
    ("faust_fixes", "Faust"), ("/faust/", "Faust"), ("/mode/", "Faust"),
    ("stream/agents", "agents"), ("stream/topics", "agents"),
    ("stream/core", "domain"), ("stream/ingest", "domain"), ("schemas/", "domain"),
    ("pydantic", "domain"), ("stream/records", "domain"), ("datetime", "domain"),
    ("orjson", "JSON (orjson)"), ("asyncio", "event loop"), ("contextvars", "event loop"),
    ("prometheus_client", "metrics"), ("stream/metrics", "metrics"),
)


def by_part(profile: cProfile.Profile) -> dict[str, float]:
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    parts: defaultdict[str, float] = defaultdict(float)
    for (filename, _, name), (_, _, own, _, _) in stats.items():
        where = f"{filename} {name}"
        part = next((p for seen, p in PARTS if seen in where), "other")
        parts[part] += own
    return dict(parts)


async def main(args: argparse.Namespace) -> None:
    start = datetime.now(UTC) - timedelta(days=10)
    events = list(islice(Traffic(args.seed, start), args.events))
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(web_enabled=False, data_dir=Path(data), partitions=PARTITIONS,
                            store=args.store)
        heap.set_young_threshold(settings.gc_young_threshold)  # as a worker's
        clock = GcClock()
        gc.callbacks.append(clock)
        began = time.process_time()
        sent = await drive(settings, events)
        inputs, written = len(events), sum(sent.values()) - len(events)
        seconds = time.process_time() - began
        gc.callbacks.remove(clock)
    print(f"inproc: {inputs:,} input events, {written / inputs:.2f} records "
          f"written per event ({args.store})")
    print(f"inproc: {1e6 * seconds / inputs:.0f} µs of processor time per input event, "
          f"of which {1e6 * clock.seconds / inputs:.0f} µs in the garbage collector")
    if args.profile:
        with tempfile.TemporaryDirectory() as data:
            profile = cProfile.Profile()
            profile.enable()
            await drive(settings.model_copy(update={"data_dir": Path(data)}), events)
            profile.disable()
        parts = by_part(profile)
        every = sum(parts.values()) or 1.0
        print("inproc: by part (cProfile's own time, a second run; cProfile slows it):")
        for part, own in sorted(parts.items(), key=lambda p: -p[1]):
            print(f"  {100 * own / every:5.1f}%  {part}")


if __name__ == "__main__":
    asyncio.run(main(arguments().parse_args()))

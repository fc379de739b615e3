"""A worker's recovery and memory as declarations pile up (a measurement, not a test).

    python -m bench.recovery [--declarations 1000000] [--steps 100000,500000]

For each N, under a fresh topic prefix and app id on the local broker, the changelog of
the ``declaration-state`` table is filled with N declaration states (the stored form of a
declaration of the simulated traffic, released and departed), as a worker that handled
them would have left it. Then a worker starts on an empty disk. It prints the time until
the worker has restored its tables and is ready (its log says "Worker ready"), its
resident memory then, and its memory (now and at its peak) after 20,000 more events for
random known declarations, each a table read, a decode, a write and an update.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from bench.harness import generate, memory_mb, publish, wait_caught_up
from bench.scale import arguments, run_by_size

__all__ = ["arguments", "main"]  # its arguments are bench.scale's
from stream.admin import connect_admin
from stream.core.lifecycle import DeclarationState
from stream.ingest import Decoded, decode
from stream.runtime.batches import partition_for
from stream.settings import Settings, policy_of
from stream.tools.scenario import Message
from stream.topics import Topology
from stream.worker.process import WorkerProcess

TOUCHES = 20_000


def declaration_id(n: int) -> str:
    return f"3100{2027:04d}{n:010d}"


def template(settings: Settings) -> tuple[str, bytes, Message]:
    """A stored declaration state with five or more events, and one of its departures."""
    states: dict[str, DeclarationState] = {}
    departures: dict[str, Message] = {}
    policy = policy_of(settings)
    for offset, message in enumerate(generate(20_000, seed=1)):
        result = decode(message.topic, message.key, message.value)
        if not isinstance(result, Decoded):
            continue
        event = result.event
        state = states.setdefault(event.key, DeclarationState(event.key))
        state.apply(event, result.digest, f"{message.topic}:0:{offset}", lambda _: None, policy)
        if type(event).__name__ == "GoodsDeparted":
            departures[event.key] = message
        view = state.published_view or {}
        if len(state.events) >= 5 and view.get("status") == "DEPARTED":
            return event.key, orjson.dumps(state.to_json()), departures[event.key]
    raise RuntimeError("no declaration of the traffic has five events")


async def fill_changelog(settings: Settings, numbers: range, like: tuple[str, bytes]) -> None:
    """States as the worker stores them: orjson key and value, in the key's partition."""
    topic = f"{settings.app_id}-declaration-state-changelog"
    admin = await connect_admin(settings.bootstrap_servers)
    try:
        with contextlib.suppress(TopicAlreadyExistsError):  # made by an earlier step
            await admin.create_topics([NewTopic(topic, settings.partitions, 1,
                                                topic_configs={"cleanup.policy": "compact"})])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=20,
                                max_batch_size=1 << 20, max_request_size=8 << 20)
    await producer.start()
    original, value = like
    try:
        for n in numbers:
            key = declaration_id(n)
            await producer.send(topic, orjson.dumps(key), value.replace(
                original.encode(), key.encode()), partition=partition_for(key, settings.partitions))
        await producer.flush()
    finally:
        await producer.stop()


def touches(known: int, departure: Message, original: str) -> Iterator[Message]:
    """Departures again, under new event ids, for random known declarations."""
    chosen = random.Random(7)
    for n in range(TOUCHES):
        key = declaration_id(chosen.randrange(known))
        document = orjson.loads(departure.value.replace(original.encode(), key.encode()))
        document["event_id"] = f"bench-touch-{n}"
        yield Message(departure.topic, key.encode(), orjson.dumps(document))


async def ready(worker: WorkerProcess, timeout: float = 900) -> float:
    began = time.monotonic()
    while "Worker ready" not in worker.log_tail(1 << 20):
        worker.check_alive()
        if time.monotonic() - began > timeout:
            raise TimeoutError("the worker did not get ready")
        await asyncio.sleep(0.2)
    return time.monotonic() - began


async def measure(settings: Settings, sizes: list[int], folder: Path) -> None:
    original, value, departure = template(settings)
    print(f"a stored state: {len(value):,} bytes", flush=True)
    done = 0
    for size in sizes:
        began = time.monotonic()
        await fill_changelog(settings, range(done, size), (original, value))
        done = size
        print(f"{size:>9,} declarations in the changelog ({time.monotonic() - began:.0f} s to "
              "publish)", flush=True)
        run = settings.model_copy(update={"data_dir": folder / f"worker-{size}"})
        worker = WorkerProcess(run, folder / f"worker-{size}.log")
        worker.start()
        try:
            recovered = await ready(worker)
            assert worker.process is not None
            rss, _ = memory_mb(worker.process.pid)
            await publish(run, touches(size, departure, original), run.topic_prefix)
            await wait_caught_up(run, run.app_id, Topology.from_settings(run).consumed)
            busy, peak = memory_mb(worker.process.pid)
        finally:
            worker.stop()
        print(f"  recovered from an empty disk and ready in {recovered:.1f} s; RSS {rss:.0f} MB;"
              f" after {TOUCHES:,} events for known declarations {busy:.0f} MB "
              f"(peak {peak:.0f} MB)", flush=True)


def as_deployed(settings: Settings) -> Settings:
    """A worker as deployed: RocksDB tables, the default commit interval."""
    defaults = Settings()
    return settings.model_copy(update={
        "store": "rocksdb://", "commit_interval": defaults.commit_interval,
        "stall_timeout": defaults.stall_timeout,
    })


def main() -> None:
    os.environ["CUSTOMS_STREAM_WORKER_LOG_LEVEL"] = "info"  # to read "Worker ready"
    run_by_size(measure, as_deployed)

if __name__ == "__main__":
    main()

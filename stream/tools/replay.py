"""``customs-stream replay``: run a scenario through a real worker on a real broker.

Publishes the scenario's messages under a fresh topic prefix, with a worker process
consuming them, honours the barriers (waits until the worker's consumer group has
committed everything published so far, internal topics included), then builds the
result document from what the pipeline itself published.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, Self, cast

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from stream import kafka
from stream.admin import connect_admin, ensure_topics, group_lag, topic_partitions
from stream.kafka import configure
from stream.settings import Settings
from stream.tools.scenario import Barrier, Message, Step
from stream.topics import Topology
from stream.worker.process import WorkerProcess

STATUS_FIELDS = (
    "declaration_id", "firm_id", "buyer_id", "buyer_reference", "port", "port_area", "status",
    "channel", "decision", "decision_reasons", "eligibility_reasons", "declared_at",
    "released_at", "clearance_hours", "within_24h", "departed_at", "on_schedule", "returned",
    "tax_refund_eligible",
)
KPI_FIELDS = (
    "port", "channel", "released", "mean_clearance_hours", "p50_clearance_hours",
    "p95_clearance_hours", "within_24h_share",
)


class ReplayError(RuntimeError):
    """The replay could not complete (a barrier timed out, ...)."""


Progress = Callable[[str], None]
AfterMessage = Callable[[int], Awaitable[None]]


def isolated(settings: Settings) -> Settings:
    """The same settings under a fresh topic prefix and consumer group."""
    run = uuid.uuid4().hex[:10]
    return settings.model_copy(
        update={
            "topic_prefix": f"replay-{run}",
            "app_id": f"customs-replay-{run}",
            "web_enabled": False,
            "store": "memory://",
            "commit_interval": min(settings.commit_interval, 0.2),
            "stall_timeout": min(settings.stall_timeout, 60.0),
            "data_dir": settings.cache_dir / "replay" / run,
        }
    )


async def _publish(
    producer: AIOKafkaProducer, topology: Topology, message: Message
) -> asyncio.Future[Any]:
    future = await producer.send(topology.name(message.topic), value=message.value, key=message.key)
    return cast("asyncio.Future[Any]", future)


class Watched(Protocol):
    """Worker processes being waited for: fail (or restart them) when they stop."""

    def check_alive(self) -> None: ...

    def log_tail(self, chars: int = 3000) -> str: ...


async def wait_until_processed(
    settings: Settings, worker: Watched | None, timeout: float
) -> None:
    """Until the worker's group has committed every message of the topics it reads."""
    topology = Topology.from_settings(settings)
    deadline = time.monotonic() + timeout
    while True:
        if worker is not None:
            worker.check_alive()
        try:
            lag = await group_lag(settings.bootstrap_servers, settings.app_id, topology.consumed)
        except (KafkaError, OSError, TimeoutError) as exc:  # e.g. a coordinator election
            lag = {"(unknown)": 1}
            progress_note = str(exc)
        else:
            progress_note = ""
            if not any(lag.values()):
                return
        if time.monotonic() > deadline:
            tail = worker.log_tail() if worker is not None else ""
            raise ReplayError(
                f"the pipeline did not catch up within {timeout:.0f}s: {lag} {progress_note}"
                + (f"\nworker log:\n{tail}" if tail else "")
            )
        await asyncio.sleep(0.1)


async def read_records(bootstrap: str, topics: list[str]) -> list[ConsumerRecord[Any, Any]]:
    """Every record of the topics, from the beginning to their current end."""
    consumer = kafka.consumer(
        bootstrap, enable_auto_commit=False,
        max_partition_fetch_bytes=64 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024,
    )
    admin = await connect_admin(bootstrap)
    try:
        partitions = await topic_partitions(admin, topics)
    finally:
        await admin.close()
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[Any, Any]] = []

        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        while await behind():
            batch = await consumer.getmany(timeout_ms=1000, max_records=20000)
            for messages in batch.values():
                records.extend(messages)
        return records
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    """Every (key, value) of a topic, from the beginning to the current end."""
    return [(r.key, r.value) for r in await read_records(bootstrap, [topic])]


def _latest(records: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any]) -> list[Any]:
    best: dict[Any, dict[str, Any]] = {}
    for record in records:
        current = best.get(key(record))
        if current is None or record["sequence"] >= current["sequence"]:
            best[key(record)] = record
    return list(best.values())


async def collect_result(settings: Settings) -> dict[str, Any]:
    """The result document, from what the pipeline published on its output topics."""
    topology = Topology.from_settings(settings)
    bootstrap = settings.bootstrap_servers

    async def values(topic: str) -> list[dict[str, Any]]:
        records = await read_topic(bootstrap, topology.name(topic))
        return [orjson.loads(v) for _, v in records if v is not None]

    statuses = _latest(await values("declaration-status"), lambda r: r["declaration_id"])
    kpi_records = await read_topic(bootstrap, topology.name("clearance-kpis"))
    kpis: dict[bytes | None, dict[str, Any] | None] = {}
    for key, value in kpi_records:  # one partition per key: the last record stands
        kpis[key] = orjson.loads(value) if value is not None else None
    # Provenance identifies a message: a redelivered one is counted once.
    def where(record: dict[str, Any]) -> tuple[str, int, int]:
        return (record["source_topic"], record["partition"], record["offset"])

    letters = {where(d): d for d in await values("dead-letters")}
    repeats = {where(d) for d in await values("duplicates")}
    return {
        "statuses": sorted(
            ({f: s[f] for f in STATUS_FIELDS} for s in statuses),
            key=lambda s: s["declaration_id"],
        ),
        "kpis": sorted(
            ({f: k[f] for f in KPI_FIELDS} for k in kpis.values() if k is not None),
            key=lambda k: (k["port"], k["channel"]),
        ),
        "summary": {
            "dead_letters": len(letters),
            "duplicates": len(repeats),
            "dead_letter_codes": sorted({d["error_code"] for d in letters.values()}),
        },
    }


async def delete_topics(settings: Settings) -> None:
    admin = await connect_admin(settings.bootstrap_servers)
    try:
        prefix = f"{settings.topic_prefix}."
        mine = [t for t in await admin.list_topics() if t.startswith(prefix)]
        mine += [t for t in await admin.list_topics() if t.startswith(f"{settings.app_id}-")]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


class ReplayRun:
    """A worker on a fresh topic prefix, and a producer to feed it; used as an async
    context manager that stops the worker on the way out, and deletes the topics and,
    unless it ended in an error, the run's data directory (its tables and logs)."""

    def __init__(
        self, base: Settings, progress: Progress = lambda _: None,
        barrier_timeout: float = 120.0, keep_topics: bool = False,
        publisher: Settings | None = None, **overrides: Any,
    ) -> None:
        """``publisher``: whose credentials publish the inputs, where the pipeline's own
        may not (a secured cluster); the pipeline's by default."""
        self.settings = isolated(base).model_copy(update=overrides)
        self.topology = Topology.from_settings(self.settings)
        self.progress, self.barrier_timeout = progress, barrier_timeout
        self.keep_topics = keep_topics
        self.worker = WorkerProcess(self.settings, self.settings.data_dir / "worker.log")
        self.watched: Watched = self.worker
        configure(self.settings)
        self.producer = kafka.producer(
            self.settings.bootstrap_servers, publisher or self.settings,
            max_request_size=self.settings.max_message_bytes,
        )
        self.published = 0

    async def __aenter__(self) -> Self:
        try:
            await ensure_topics(self.settings.bootstrap_servers, self.topology)
        except BaseException:
            await self.producer.stop()  # made, never started: closed all the same
            raise
        self.progress(f"topics under prefix {self.settings.topic_prefix!r}; starting workers")
        self.start_workers()
        await self.producer.start()
        return self

    def start_workers(self) -> None:
        self.worker.start()

    def stop_workers(self) -> None:
        self.worker.stop()

    async def __aexit__(self, failure: type[BaseException] | None, *_: object) -> None:
        await self.producer.stop()
        self.stop_workers()
        if not self.keep_topics:
            await delete_topics(self.settings)
            if failure is None:  # its tables and logs: kept only to tell what went wrong
                shutil.rmtree(self.settings.data_dir, ignore_errors=True)

    async def play(
        self, steps: list[Step], after_message: AfterMessage | None = None
    ) -> None:
        """Publish the steps in order, waiting at each barrier and at the end;
        ``after_message(n)`` runs after the n-th message is published (from 0)."""
        pending: list[asyncio.Future[Any]] = []
        for step in [*steps, Barrier()]:
            if isinstance(step, Barrier):
                await asyncio.gather(*pending)  # raises if the broker refused a message
                await wait_until_processed(self.settings, self.watched, self.barrier_timeout)
                self.progress(f"barrier: {self.published} messages published and processed")
            else:
                pending.append(await _publish(self.producer, self.topology, step))
                if after_message is not None:
                    await after_message(self.published)
                self.published += 1

    async def result(self) -> dict[str, Any]:
        result = await collect_result(self.settings)
        self.progress(
            f"done: {len(result['statuses'])} declarations, {len(result['kpis'])} KPI groups"
        )
        return result


async def replay(
    steps: list[Step], base: Settings, progress: Progress = lambda _: None,
    barrier_timeout: float = 120.0, keep_topics: bool = False,
) -> dict[str, Any]:
    """Run a scenario through a fresh worker; the result document it published."""
    async with ReplayRun(base, progress, barrier_timeout, keep_topics) as run:
        await run.play(steps)
        return await run.result()

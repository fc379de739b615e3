"""What both benchmark runs share: generating the stream, preloading it, reading what a
worker produced, and turning record timestamps into figures."""

from __future__ import annotations

import asyncio
import functools
import os
import statistics
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import CoordinatorLoadInProgressError, GroupCoordinatorNotAvailableError
from aiokafka.structs import ConsumerRecord

from stream.admin import connect_admin, group_lag, topic_partitions
from stream.kafka import client_options
from stream.settings import Settings
from stream.tools.scenario import Message
from stream.tools.simulate import Traffic

CAUSED_BY = "x-caused-by"


@functools.cache
def generate(count: int, seed: int) -> list[Message]:
    """A seeded stream of realistic traffic (bad input and repeats included); made once
    per run for every loop measured."""
    return list(islice(Traffic(seed, datetime(2026, 5, 1, tzinfo=UTC)), count))


async def publish(
    settings: Settings, messages: Iterable[Message], prefix: str, rate: float | None = None
) -> int:
    """Publish to ``{prefix}.{topic}``, as fast as possible or at ``rate`` per second."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, linger_ms=20, max_batch_size=1 << 20,
        max_request_size=settings.max_message_bytes, **client_options(settings),
    )
    await producer.start()
    sent, started = 0, time.monotonic()
    try:
        for message in messages:
            if rate is not None:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            await producer.send(f"{prefix}.{message.topic}", message.value, key=message.key)
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def wait_caught_up(settings: Settings, group: str, topics: list[str],
                         timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            lag = await group_lag(settings.bootstrap_servers, group, topics)
        except (GroupCoordinatorNotAvailableError, CoordinatorLoadInProgressError):
            await asyncio.sleep(0.5)  # a new broker makes its offsets topic on first use
            continue
        if not any(lag.values()):
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{group} did not catch up within {timeout:.0f}s")


@dataclass(frozen=True)
class Figures:
    events: int
    events_per_second: float
    delays_ms: list[float]

    def percentile(self, p: float) -> float:
        ordered = sorted(self.delays_ms)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def throughput(events: int, outputs: list[ConsumerRecord]) -> float:
    """Events per second, over the span from the first output to the last."""
    stamps = [r.timestamp for r in outputs]
    span = (max(stamps) - min(stamps)) / 1000
    return events / span if span > 0 else float("nan")


def delays(inputs: list[ConsumerRecord], outputs: list[ConsumerRecord]) -> list[float]:
    """Milliseconds from each input's publication to the output it caused."""
    published = {f"{r.topic.split('.', 1)[1]}:{r.partition}:{r.offset}": r.timestamp
                 for r in inputs}
    found = []
    for record in outputs:
        cause = dict(record.headers or ()).get(CAUSED_BY)
        if cause is not None and cause.decode() in published:
            found.append(float(record.timestamp - published[cause.decode()]))
    return found


def summary(name: str, figures: Figures) -> str:
    return (
        f"{name:<28} {figures.events_per_second:>10,.0f} events/s   "
        f"p50 {figures.percentile(0.5):>7.1f} ms   p99 {figures.percentile(0.99):>7.1f} ms   "
        f"({len(figures.delays_ms):,} delays)"
    )


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def cpu_seconds(pid: int) -> float:
    """Processor time a process has used so far (user and system), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines() if ":" in line)
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


async def records_written(settings: Settings, inputs: list[str]) -> Counter[str]:
    """Records on each of a run's topics but its inputs (outputs, forwards, changelog
    writes), by topic name without the run's prefix. The topics are the run's own, so
    their end offsets are the counts."""
    mine = (f"{settings.topic_prefix}.", f"{settings.app_id}-")
    admin = await connect_admin(settings.bootstrap_servers)
    try:
        names = [t for t in await admin.list_topics() if t.startswith(mine) and t not in inputs]
        partitions = await topic_partitions(admin, names)
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                                **client_options(settings))
    await consumer.start()
    try:
        consumer.assign(partitions)  # every topic's metadata at once (see admin.group_lag)
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    counts: Counter[str] = Counter()
    for tp, end in ends.items():
        counts[tp.topic.removeprefix(mine[0]).removeprefix(mine[1])] += end
    return counts


def written_per_event(events: int, counts: Counter[str]) -> str:
    """One line: records written per input event, in all and by topic, most first."""
    each = ", ".join(f"{topic} {n / events:.2f}" for topic, n in counts.most_common() if n)
    return f"{sum(counts.values()) / events:.2f} records written per input event ({each})"

"""Where a what-if run reads its input: an events file in the scenario format, or the
pipeline's input topics on the broker, from the earliest retained offsets to the end
they had when the run began. The broker is only read: no consumer group, no commits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from stream import kafka
from stream.admin import connect_admin, topic_partitions
from stream.tools.scenario import INPUT_TOPICS, Message, iter_scenario
from stream.topics import Topology

Feed = Callable[[str, bytes | None, bytes | None], None]  # bare topic, key, value
Progress = Callable[[int, int], None]  # done, total (in the source's own unit)


class SourceError(RuntimeError):
    """The source cannot be read."""


def read_file(path: Path, feed: Feed, progress: Progress) -> None:
    """Every message of an events file, barriers skipped; progress in bytes."""
    try:
        total = path.stat().st_size
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}") from exc
    done = 0
    for step in iter_scenario(path):
        if isinstance(step, Message):
            feed(step.topic, step.key, step.value)
            done += len(step.value) + 80  # about a line's size: the bar needs no more
            progress(min(done, total), total)
    progress(total, total)


async def read_topics(
    bootstrap: str, topology: Topology, feed: Feed, progress: Progress
) -> None:
    """Every retained message of the input topics up to their end offsets at the start;
    progress in messages."""
    bare = {topology.name(name): name for name in INPUT_TOPICS}
    admin = await connect_admin(bootstrap)
    try:
        partitions = await topic_partitions(admin, bare)
    except KeyError as exc:
        hint = f"is the topic prefix {topology.prefix!r} right?"
        raise SourceError(f"{exc.args[0]} ({hint})") from exc
    finally:
        await admin.close()
    consumer = kafka.consumer(
        bootstrap, group_id=None, enable_auto_commit=False,
        # From the start, whatever happens first: aiokafka's default ("latest") could
        # place a partition at its end before the seek below took effect.
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        await _read_until(consumer, bare, starts, ends, feed, progress)
    finally:
        await consumer.stop()


async def _read_until(
    consumer: AIOKafkaConsumer, bare: dict[str, str],
    starts: dict[TopicPartition, int], ends: dict[TopicPartition, int],
    feed: Feed, progress: Progress,
) -> None:
    total, done = sum(ends[tp] - starts[tp] for tp in ends), 0
    pending = {tp for tp in ends if ends[tp] > starts[tp]}
    reached = dict(starts)  # per partition, the offset after the last record read
    progress(0, total)
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=5000)
        for tp, messages in batch.items():
            for message in messages:
                if message.offset < ends[tp]:
                    feed(bare[tp.topic], message.key, message.value)
                    done += 1
            if messages:
                reached[tp] = messages[-1].offset + 1
        for tp in list(pending):
            # Markers and retention leave offsets without records: once a poll brings
            # nothing, the consumer's position says whether the end was passed.
            if reached[tp] >= ends[tp] or (
                not batch and await consumer.position(tp) >= ends[tp]
            ):
                pending.discard(tp)
        progress(min(done, total), total)
    progress(total, total)

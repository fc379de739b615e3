"""Records handed to the producer a batch per topic partition.

aiokafka's ``send`` costs about 8 µs of processor time a record (a coroutine, the
metadata and partition checks, a future for every record, resolved one by one when its
batch is acknowledged); a batch built with ``create_batch`` and handed over whole with
``send_batch`` about 3.5 (aiokafka 0.14.0; ``python -m bench.sends``, docs/performance.md).
A worker writes three to four records for every input, and a seal hands a slice's
records over at once: each topic partition's records go in one batch (more when one is
full), in the order they were made, with one future for the batch. A batch handed over
is complete, so it is closed: the producer sends it at once instead of lingering
(``producer_linger_ms``) for records that will not come, which held each seal's
changelog records and then its outputs back 5 ms each.

The order of a partition's records is the order of the calls, as with ``send``: the
producer queues a partition's batches in the order it gets them. A record without a
partition gets the one ``send`` would give it (the default partitioner's, remembered).
What a batch future says of a failure is what each of its records would have said.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2
from aiokafka.structs import TopicPartition

# topic, key, value, partition (None: the partitioner's), headers
Record = tuple[str, bytes | None, bytes | None, int | None, list[tuple[str, bytes]] | None]


@lru_cache(maxsize=65_536)
def partition_for(key: str | bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a key (murmur2, as every producer
    does: the Java client's, aiokafka's). Remembered: aiokafka's murmur2 is pure Python,
    about 4 µs a key, and a declaration's key comes back with each of its events."""
    raw = key.encode() if isinstance(key, str) else key
    return int(murmur2(raw) & 0x7FFFFFFF) % partitions


@dataclass(frozen=True)
class Sent:
    """One batch handed to the producer: its partition, how many records it holds and
    the future of its delivery (the metadata of its first record)."""

    tp: TopicPartition
    records: int
    delivery: asyncio.Future[Any]

    def last_offset(self) -> int:
        """The offset of its last record, once delivered."""
        return int(self.delivery.result().offset) + self.records - 1


def producer_of(faust_producer: Any) -> AIOKafkaProducer | None:
    """The aiokafka producer behind Faust's, once started; None for a producer that is
    not aiokafka's (the double of the agents' tests and of ``bench.inproc``)."""
    producer = getattr(faust_producer, "_producer", None)
    return producer if isinstance(producer, AIOKafkaProducer) else None


async def hand_over(faust_producer: Any, records: Sequence[Record]) -> list[Sent]:
    """Hand ``records`` to Faust's producer: a batch per topic partition when it is
    aiokafka's; one ``send`` a record, each its own ``Sent``, to a producer double."""
    producer = producer_of(faust_producer)
    if producer is not None:
        return await send_in_batches(producer, records)
    sent = []
    for topic, key, value, partition, headers in records:
        delivery = await faust_producer.send(topic, key, value, partition, None, headers)
        # -1: a partition left to the double, which its delivery's metadata tells
        sent.append(Sent(TopicPartition(topic, -1 if partition is None else partition),
                         1, delivery))
    return sent


async def send_in_batches(producer: AIOKafkaProducer, records: Sequence[Record]) -> list[Sent]:
    """Hand ``records`` to ``producer``, a batch per topic partition (in order)."""
    open_: dict[tuple[str, int], list[Any]] = {}  # (topic, partition) -> [builder, count]
    sent: list[Sent] = []
    counts: dict[str, int] = {}  # topic -> partitions, as the producer's metadata has it
    for topic, key, value, partition, headers in records:
        if partition is None:
            if topic not in counts:  # the metadata the partitioner needs
                counts[topic] = len(await producer.partitions_for(topic))
            partition = (partition_for(key, counts[topic]) if key is not None
                         else producer._partition(topic, None, key, value, key, value))
        batch = open_.get((topic, partition))
        if batch is None:
            batch = open_[topic, partition] = [producer.create_batch(), 0]
        elif batch[0].append(key=key, value=value, timestamp=None, headers=headers or []):
            batch[1] += 1
            continue
        else:  # full: handed over, and a next one begun
            sent.append(await _send(producer, topic, partition, batch))
            batch[0], batch[1] = producer.create_batch(), 0
        batch[0].append(key=key, value=value, timestamp=None, headers=headers or [])
        batch[1] += 1
    for (topic, partition), batch in open_.items():
        sent.append(await _send(producer, topic, partition, batch))
    return sent


async def _send(producer: AIOKafkaProducer, topic: str, partition: int, batch: list[Any]) -> Sent:
    builder, count = batch
    builder.close()  # complete: the producer sends it at once, without its linger
    delivery = await producer.send_batch(builder, topic, partition=partition)
    return Sent(TopicPartition(topic, partition), count, delivery)

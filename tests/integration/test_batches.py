"""Records handed over a batch per topic partition (``stream.runtime.batches``), on the
test broker: each partition holds its records in the order they were handed over, a
record without a partition lands where the producer's partitioner puts it, a full batch
goes out and the next begins, and each batch knows the offset of its last record."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict

from aiokafka.admin import NewTopic
from aiokafka.partitioner import DefaultPartitioner

from stream import kafka as clients
from stream.admin import connect_admin
from stream.runtime.batches import Record, send_in_batches

PARTITIONS = 3


async def read_all(bootstrap: str, topic: str, count: int) -> dict[int, list[tuple[int, bytes]]]:
    """(offset, value) of each partition's records, in the order the topic holds them."""
    consumer = clients.consumer(bootstrap, topic, auto_offset_reset="earliest",
                              enable_auto_commit=False)
    await consumer.start()
    found: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    try:
        async with asyncio.timeout(30):
            while sum(map(len, found.values())) < count:
                for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                    found[tp.partition] += [(r.offset, r.value or b"") for r in records]
    finally:
        await consumer.stop()
    return found


async def test_each_partition_gets_its_records_in_order_in_batches(kafka: str) -> None:
    topic = f"batches-{uuid.uuid4().hex[:8]}"
    admin = await connect_admin(kafka)
    await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    # Batches of at most 2 KiB: 300-byte records fill one every six or so.
    producer = clients.producer(kafka, linger_ms=5, max_batch_size=2048)
    await producer.start()
    try:
        records: list[Record] = []
        for n in range(60):
            partition = None if n % 4 == 3 else n % PARTITIONS  # some left to the partitioner
            records.append((topic, f"key-{n}".encode(), f"{n:03d}".encode() + b"." * 297,
                            partition, [("n", str(n).encode())]))
        sent = await send_in_batches(producer, records)
        await asyncio.gather(*(s.delivery for s in sent))
        found = await read_all(kafka, topic, len(records))
    finally:
        await producer.stop()
        await admin.delete_topics([topic])
        await admin.close()

    partitioner = DefaultPartitioner()
    expected: dict[int, list[bytes]] = defaultdict(list)
    for _, key, value, partition, _ in records:
        if partition is None:
            partition = partitioner(key, list(range(PARTITIONS)), list(range(PARTITIONS)))
        expected[partition].append(value or b"")
    assert {p: [v for _, v in found[p]] for p in found} == dict(expected)
    assert len(sent) > PARTITIONS  # full batches went out and others began
    # A new topic numbers each partition's records from 0, so a partition's batches end
    # where their counts, added up in order, say.
    for partition in range(PARTITIONS):
        mine = [s for s in sent if s.tp.partition == partition]  # in the order handed over
        ends = [s.last_offset() for s in mine]
        counted = [sum(s.records for s in mine[: i + 1]) - 1 for i in range(len(mine))]
        assert ends == counted and ends[-1] == found[partition][-1][0]


async def test_a_batch_goes_out_at_once_not_after_the_producers_linger(kafka: str) -> None:
    """A batch handed over is complete: the producer does not hold it for its linger."""
    topic = f"batches-{uuid.uuid4().hex[:8]}"
    admin = await connect_admin(kafka)
    await admin.create_topics([NewTopic(topic, 1, 1)])
    producer = clients.producer(kafka, linger_ms=3_000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"first", partition=0)  # metadata, producer id
        began = time.monotonic()
        sent = await send_in_batches(producer, [(topic, b"k", b"v", 0, None)])
        await asyncio.wait_for(sent[0].delivery, timeout=10)
        took = time.monotonic() - began
    finally:
        await producer.stop()
        await admin.delete_topics([topic])
        await admin.close()
    assert took < 1.5, f"{took:.1f} s: held for the linger (3 s)"

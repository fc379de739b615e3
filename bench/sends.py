"""What a record costs the worker's producer: a ``send`` each, or a batch per topic
partition (``stream.runtime.batches``), in one run on the local broker (a benchmark,
not a test).

    python -m bench.sends [--records 100000] [--rounds 3]

The same records (600 bytes, a declaration's key, a header, four partitions, handed
over 700 at a time as a seal hands a slice's records) go to a topic of their own by the
project's producer settings (idempotent, every in-sync replica), the two ways
alternating. It prints the processor time per record of each round until every record
is acknowledged, the medians, and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from aiokafka import AIOKafkaProducer
from aiokafka.admin import NewTopic

from stream import kafka
from stream.admin import connect_admin
from stream.broker import LocalBroker
from stream.runtime.batches import Record, send_in_batches
from stream.settings import Settings

PARTITIONS, SEAL = 4, 700


def records(count: int, topic: str) -> list[Record]:
    header = [("x-caused-by", b"customs.declarations:0:12345")]
    return [(topic, f"DECL-{n:06d}".encode(), b"x" * 600, n % PARTITIONS, header)
            for n in range(count)]


async def each(producer: AIOKafkaProducer, batch: list[Record]) -> None:
    deliveries = [await producer.send(topic, value, key, partition=partition, headers=headers)
                  for topic, key, value, partition, headers in batch]
    await asyncio.gather(*deliveries)


async def batched(producer: AIOKafkaProducer, batch: list[Record]) -> None:
    await asyncio.gather(*(sent.delivery for sent in await send_in_batches(producer, batch)))


async def measure(bootstrap: str, count: int, rounds: int) -> None:
    topic = f"bench-sends-{uuid.uuid4().hex[:8]}"
    admin = await connect_admin(bootstrap)
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
        producer = kafka.producer(bootstrap, linger_ms=5, max_batch_size=1024 * 1024)
        await producer.start()
        try:
            figures: dict[str, list[float]] = {"a send each": [], "a batch per partition": []}
            work = records(count, topic)
            for round_ in range(1, rounds + 1):
                for name, way in (("a send each", each), ("a batch per partition", batched)):
                    began = time.process_time()
                    for start in range(0, count, SEAL):
                        await way(producer, work[start:start + SEAL])
                    figures[name].append(1e6 * (time.process_time() - began) / count)
                    print(f"round {round_}: {name}: {figures[name][-1]:.1f} µs per record")
        finally:
            await producer.stop()
        await admin.delete_topics([topic])
    finally:
        await admin.close()
    sends, batches = (statistics.median(f) for f in figures.values())
    print(f"medians: a send each {sends:.1f} µs, a batch per partition {batches:.1f} µs "
          f"per record; batch / send {batches / sends:.2f}")


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="A send per record or a batch per partition")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    return parser


def main() -> None:
    args = arguments().parse_args()
    base = Settings()
    status = LocalBroker(base.cache_dir, base.broker_port).start()
    asyncio.run(measure(status.bootstrap, args.records, args.rounds))


if __name__ == "__main__":
    main()

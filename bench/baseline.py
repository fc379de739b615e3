"""The baseline: a plain aiokafka consume-and-produce loop over the same input topics.

For each input message it parses the JSON (orjson) and produces one output record with
the input's provenance in a header, so the harness can measure both loops alike.
Run as ``python -m bench.baseline PREFIX GROUP BOOTSTRAP``; stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.harness import CAUSED_BY
from stream.kafka import client_options
from stream.topics import LIFECYCLE_INPUTS

OUTPUT = "baseline-out"


async def loop(prefix: str, group: str, bootstrap: str) -> None:
    topics = [f"{prefix}.{t}" for t in (*LIFECYCLE_INPUTS, "firms")]
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
        enable_auto_commit=False, max_partition_fetch_bytes=8 << 20, **client_options(),
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=5, max_request_size=32 << 20, **client_options()
    )
    await consumer.start()
    await producer.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=2000)
            for tp, messages in batch.items():
                for m in messages:
                    with contextlib.suppress(orjson.JSONDecodeError):
                        orjson.loads(m.value)
                    cause = f"{tp.topic.split('.', 1)[1]}:{tp.partition}:{m.offset}".encode()
                    await producer.send(f"{prefix}.{OUTPUT}", m.value, key=m.key,
                                        headers=[(CAUSED_BY, cause)])
            if batch:
                await producer.flush()  # outputs first, then the offsets: at-least-once
                await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(loop(sys.argv[1], sys.argv[2], sys.argv[3]))

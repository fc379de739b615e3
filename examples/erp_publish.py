"""An ERP publishing a declaration to the pipeline with a plain Kafka client.

    python examples/erp_publish.py --broker 127.0.0.1:19092 --topic customs.declarations \\
        declaration.json

The key is the declaration id (so that everything about one declaration lands in one
partition; aiokafka hashes keys with murmur2, as the contract asks). The event must
follow the contract's DeclarationFiled schema (schemas/json/declarations.schema.json);
the pipeline dead-letters anything else, with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from aiokafka import AIOKafkaProducer


async def publish(broker: str, topic: str, declaration: dict[str, object]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        key = str(declaration["declaration_id"]).encode()
        record = await producer.send_and_wait(topic, json.dumps(declaration).encode(), key=key)
        print(f"published {declaration['event_id']} to {topic}[{record.partition}]"
              f"@{record.offset}")
    finally:
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="127.0.0.1:19092")
    parser.add_argument("--topic", default="customs.declarations")
    parser.add_argument("declaration", type=Path, help="a DeclarationFiled event (JSON)")
    args = parser.parse_args()
    asyncio.run(publish(args.broker, args.topic, json.loads(args.declaration.read_text())))


if __name__ == "__main__":
    main()

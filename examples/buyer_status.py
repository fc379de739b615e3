"""A buyer's integration reading declaration statuses from the pipeline.

    python examples/buyer_status.py --broker 127.0.0.1:19092 \\
        --topic customs.declaration-status --buyer buyer-001 [--follow]

It reads `declaration-status` from its start and keeps, per declaration, the update with
the highest `sequence`: updates may come twice (after a restart the pipeline says again
what it may not have said), and a lower sequence is never newer. Without --follow it
prints the latest status of each of the buyer's declarations once it has read
everything, and stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from aiokafka import AIOKafkaConsumer


def keep_latest(latest: dict[str, dict[str, Any]], update: dict[str, Any]) -> bool:
    """Keep ``update`` if it is newer than what is known; True when it was."""
    known = latest.get(update["declaration_id"])
    if known is not None and known["sequence"] >= update["sequence"]:
        return False
    latest[update["declaration_id"]] = update
    return True


async def read(broker: str, topic: str, buyer: str, follow: bool) -> dict[str, dict[str, Any]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=broker, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    latest: dict[str, dict[str, Any]] = {}
    try:
        partitions = consumer.assignment()
        while not partitions:
            await asyncio.sleep(0.1)
            partitions = consumer.assignment()
        ends = await consumer.end_offsets(list(partitions))
        while True:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    if record.value is None:
                        continue
                    update = json.loads(record.value)
                    if update.get("buyer_id") == buyer and keep_latest(latest, update) and follow:
                        print(f"{update['declaration_id']} {update['status']} "
                              f"(#{update['sequence']})", flush=True)
            positions = {tp: await consumer.position(tp) for tp in partitions}
            if not follow and all(positions[tp] >= end for tp, end in ends.items()):
                return latest
    finally:
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="127.0.0.1:19092")
    parser.add_argument("--topic", default="customs.declaration-status")
    parser.add_argument("--buyer", required=True)
    parser.add_argument("--follow", action="store_true", help="keep reading new updates")
    args = parser.parse_args()
    latest = asyncio.run(read(args.broker, args.topic, args.buyer, args.follow))
    for declaration_id, update in sorted(latest.items()):
        print(f"{declaration_id} {update['status']} channel={update['channel']} "
              f"(#{update['sequence']})")


if __name__ == "__main__":
    main()

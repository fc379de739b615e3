"""Subscriptions on the broker, in this process: what the commands and the API write,
the catalogue every notifier follows reads, and it knows how far it has read."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from cryptography.fernet import Fernet
from pydantic import SecretStr

from stream.read.notify import manage
from stream.read.notify.catalogue import Catalogue
from stream.read.notify.subscriptions import SecretBox, SubscriptionError
from stream.settings import Settings
from stream.tools.replay import delete_topics


async def test_the_catalogue_follows_every_change(kafka: str) -> None:
    settings = Settings(broker=kafka, topic_prefix=f"subs-{uuid.uuid4().hex[:8]}",
                        webhook_key=SecretStr(Fernet.generate_key().decode()))
    catalogue = Catalogue(settings)
    following = asyncio.create_task(catalogue.run())
    try:
        made, secret = await manage.add(settings, "buyer-001", "https://erp.example/h",
                                        ["RELEASED"])
        await catalogue.caught_up_with(time.time(), timeout=20)
        assert catalogue.fresh_at > made.created_at
        seen = catalogue.subscriptions[made.id]
        assert seen.statuses == ["RELEASED"] and catalogue.of_buyer("buyer-001") == [seen]
        assert SecretBox(settings).in_force(seen, time.time()) == [secret]

        turned, new = await manage.change(settings, seen, "rotate")
        paused, _ = await manage.change(settings, turned, "pause")
        _, replay_id = await manage.replay(settings, paused, time.time() - 60)
        await catalogue.caught_up_with(time.time(), timeout=20)
        now = catalogue.subscriptions[made.id]
        assert now.state == "paused" and now.replays[-1].id == replay_id
        assert SecretBox(settings).in_force(now, time.time()) == [new, secret]

        await manage.change(settings, now, "delete")
        await catalogue.caught_up_with(time.time(), timeout=20)
        assert made.id not in catalogue.subscriptions
        assert await manage.subscriptions(settings) == {}
        try:
            await manage.change_by_id(settings, made.id, "pause")
            raise AssertionError("a deleted subscription changed")
        except SubscriptionError as exc:
            assert made.id in str(exc)
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
        await delete_topics(settings)


async def test_a_replay_queues_what_was_published_between_since_and_its_asking(
    kafka: str,
) -> None:
    from aiokafka import AIOKafkaProducer

    from stream.admin import ensure_topics
    from stream.read.notify.replays import Replays, marker, replay_key
    from stream.read.notify.subscriptions import new_subscription, replaying
    from stream.topics import Topology
    from tests.read.notify.test_deliveries import Stored

    settings = Settings(broker=kafka, topic_prefix=f"rpl-{uuid.uuid4().hex[:8]}",
                        webhook_key=SecretStr(Fernet.generate_key().decode()), partitions=1)
    topic = Topology.from_settings(settings).name("declaration-status")
    await ensure_topics(settings.bootstrap_servers, Topology.from_settings(settings))
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()

    async def publish(declaration: str, sequence: int, buyer: str, at: float) -> None:
        update = {"declaration_id": declaration, "sequence": sequence, "buyer_id": buyer,
                  "status": "ACCEPTED", "port": "CNNGB", "channel": "GREEN"}
        await producer.send_and_wait(topic, json.dumps(update).encode(),
                                     key=declaration.encode(), timestamp_ms=int(at * 1000))

    try:
        start = time.time() - 100
        await publish("A", 1, "buyer-001", start)  # before since: not replayed
        await publish("A", 2, "buyer-001", start + 20)
        await publish("B", 1, "buyer-002", start + 21)  # another buyer's
        await publish("A", 3, "buyer-001", start + 22)
        made, _ = new_subscription(SecretBox(settings), "buyer-001", "https://erp.example/h",
                                   [], [], [])
        asked_of, asked = replaying(made, start + 10, time.time())
        await publish("A", 4, "buyer-001", time.time() + 5)  # after it was asked
        table: dict[str, Any] = {}
        scheduled: list[tuple[str, str]] = []

        class Due:
            partitions = {0}

            def schedule(self, declaration: str, key: str, at: float,
                         partition: int | None = None) -> None:
                scheduled.append((declaration, key))

        replays = Replays(settings, topic, table, Stored(table), Due(), None)
        await replays._read(asked_of, asked, 0)
        key = replay_key(made.id, asked.id)
        assert [s for s, _ in table["A"]["queues"][key]["pending"]] == [2, 3]
        assert "B" not in table and table[marker(made.id, asked.id, 0)] is not None
        await replays._read(asked_of, asked, 0)  # read again (a restart): nothing twice
        assert [s for s, _ in table["A"]["queues"][key]["pending"]] == [2, 3]
    finally:
        await producer.stop()
        await delete_topics(settings)

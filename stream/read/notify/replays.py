"""Replays: what a subscription would have received from a moment on, sent again.

A replay is asked on the subscription (``subscriptions replay`` or the API) and every
notifier sees it. For each partition of ``declaration-status`` it holds, a notifier reads
what was published from the replay's ``since`` until the moment it was asked, and queues
the updates the subscription takes into a replay queue per declaration, apart from the
live one: ordered in itself, marked ``webhook-replay: true``, and never interleaved with
the declaration's live deliveries (``deliveries`` holds one while the other has work).
A newer replay of the subscription supersedes an older one's queues.

When a partition is done, a marker in the table says so; a notifier killed before that
reads the partition again, and the queue's sequence rule drops what it had queued.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from stream import kafka
from stream.core.webhooks import Queue
from stream.read.notify.subscriptions import Replay, Subscription
from stream.settings import Settings

log = logging.getLogger(__name__)
REPLAY_MARK = "#"  # a replay queue's key: {subscription id}#{replay id}


def replay_key(subscription_id: str, replay_id: str) -> str:
    return f"{subscription_id}{REPLAY_MARK}{replay_id}"


def marker(subscription_id: str, replay_id: str, partition: int) -> str:
    return f"replay|{subscription_id}|{replay_id}|{partition}"


@dataclass
class Replays:
    settings: Settings
    status_topic: str
    table: Any
    durable: Any
    deliveries: Any
    catalogue: Any
    running: set[tuple[str, str, int]] = field(default_factory=set)

    def due(self) -> list[tuple[Subscription, Replay, int]]:
        """Each latest replay, and partition held, that has not been read yet."""
        found = []
        for subscription in list(self.catalogue.subscriptions.values()):
            if not subscription.replays:
                continue
            latest = subscription.replays[-1]
            for partition in sorted(self.deliveries.partitions):
                if (subscription.id, latest.id, partition) in self.running:
                    continue
                if self.table.get(marker(subscription.id, latest.id, partition)) is None:
                    found.append((subscription, latest, partition))
        return found

    async def run(self, ready: Any) -> None:
        while True:
            await asyncio.sleep(0.5)
            if not ready():
                continue
            for subscription, asked, partition in self.due():
                self.running.add((subscription.id, asked.id, partition))
                try:
                    await self._read(subscription, asked, partition)
                except (KafkaError, OSError) as exc:
                    log.warning("replay %s: reading partition %d failed (%s); again soon",
                                asked.id, partition, exc)
                finally:
                    self.running.discard((subscription.id, asked.id, partition))

    async def _read(self, subscription: Subscription, asked: Replay, partition: int) -> None:
        tp = TopicPartition(self.status_topic, partition)
        consumer = kafka.consumer(
            self.settings.bootstrap_servers, settings=self.settings, enable_auto_commit=False,
        )
        await consumer.start()
        try:
            consumer.assign([tp])
            end = (await consumer.end_offsets([tp]))[tp]
            start = await self._offset_at(consumer, tp, asked.since, end)
            stop = await self._offset_at(consumer, tp, asked.requested_at, end)
            consumer.seek(tp, start)
            while start < stop and await consumer.position(tp) < stop:
                batch = await consumer.getmany(tp, timeout_ms=1000, max_records=2000)
                for record in batch.get(tp, []):
                    if record.offset < stop and record.value is not None:
                        await self._queue(subscription, asked, partition, record.value)
        finally:
            await consumer.stop()
        await self.durable.stored(partition, marker(subscription.id, asked.id, partition),
                                  {"p": partition, "queues": {}})
        log.info("replay %s of %s: partition %d queued", asked.id, subscription.id, partition)

    async def _offset_at(self, consumer: Any, tp: TopicPartition, moment: float,
                         end: int) -> int:
        found = await consumer.offsets_for_times({tp: int(moment * 1000)})
        return int(found[tp].offset) if found[tp] is not None else end

    async def _queue(self, subscription: Subscription, asked: Replay, partition: int,
                     value: bytes) -> None:
        update = orjson.loads(value)
        if update.get("buyer_id") != subscription.buyer_id or \
                not subscription.filters.match(update):
            return
        declaration_id, sequence = str(update["declaration_id"]), int(update["sequence"])
        record = self.table.get(declaration_id) or {"p": partition, "queues": {}}
        key = replay_key(subscription.id, asked.id)
        for older in [k for k in record["queues"] if k.startswith(subscription.id + REPLAY_MARK)
                      and k != key]:
            del record["queues"][older]  # superseded by this replay
        queue = Queue.of(record["queues"], key)
        if queue.offer(sequence, value.decode(), time.time()):
            record["queues"][key] = queue.to_json()
            # Not awaited: the partition's marker is stored after every write before it.
            self.durable.write(partition, declaration_id, record, lambda: None)
            self.deliveries.schedule(declaration_id, key, queue.next_at, partition)

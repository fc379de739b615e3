"""The subscriptions topic, read and written: every notifier follows it whole, and the
commands and the API write to it (one record per change; a tombstone deletes)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from stream import kafka
from stream.read.notify.subscriptions import Subscription
from stream.settings import Settings
from stream.topics import Topology

log = logging.getLogger(__name__)


def topic_of(settings: Settings) -> str:
    return Topology.from_settings(settings).name("webhook-subscriptions")


async def publish(settings: Settings, subscription: Subscription, delete: bool = False) -> None:
    """Write one subscription (or its tombstone) and wait until the broker has it."""
    producer = kafka.producer(settings.bootstrap_servers, settings)
    await producer.start()
    try:
        value = None if delete else subscription.model_dump_json().encode()
        await producer.send_and_wait(topic_of(settings), value, key=subscription.id.encode())
    finally:
        await producer.stop()


class Catalogue:
    """Every subscription, followed from the topic. ``fresh_at`` is the moment (epoch
    seconds) at which the catalogue last knew it had read everything on the topic: an
    update published before that moment was matched against every subscription made
    before it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.subscriptions: dict[str, Subscription] = {}
        self.fresh_at = 0.0
        self.ready = asyncio.Event()
        self._advanced = asyncio.Event()  # set whenever fresh_at moves
        self.malformed = 0

    def of_buyer(self, buyer_id: str) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.buyer_id == buyer_id]

    async def caught_up_with(self, moment: float, timeout: float = 30.0) -> None:
        """Wait until the catalogue has read everything published up to ``moment``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self.fresh_at < moment:
                    self._advanced.clear()
                    await self._advanced.wait()

    async def run(self) -> None:
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError) as exc:
                log.warning("subscriptions feed interrupted (%s); reconnecting", exc)
                await asyncio.sleep(1.0)

    def take(self, key: bytes | None, value: bytes | None) -> None:
        sid = (key or b"").decode(errors="replace")
        if value is None:
            self.subscriptions.pop(sid, None)
            return
        try:
            self.subscriptions[sid] = Subscription.model_validate_json(value)
        except ValidationError:
            self.malformed += 1
            log.warning("skipped a malformed subscription record (key %r)", sid[:64])

    async def load(self) -> dict[str, Subscription]:
        """Read the topic once, to its end (for the commands and the API)."""
        await self._follow(once=True)
        return self.subscriptions

    async def _follow(self, once: bool = False) -> None:
        tp = TopicPartition(topic_of(self.settings), 0)
        consumer = kafka.consumer(
            self.settings.bootstrap_servers, settings=self.settings, enable_auto_commit=False,
        )
        await consumer.start()
        try:
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            while True:
                # The moment before asking how far the topic goes: whatever was
                # published before it is at or below that end.
                asked_at = time.time()
                end = (await consumer.end_offsets([tp]))[tp]
                while await consumer.position(tp) < end:
                    batch = await consumer.getmany(tp, timeout_ms=500, max_records=1000)
                    for message in batch.get(tp, []):
                        self.take(message.key, message.value)
                self.fresh_at = asked_at
                self._advanced.set()
                self.ready.set()
                if once:
                    return
                await asyncio.sleep(0.02)
        finally:
            await consumer.stop()

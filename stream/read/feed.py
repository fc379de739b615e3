"""What the pipeline has published, followed into the read model behind the API.

A process that serves HTTP reads ``declaration-status``, ``clearance-kpis`` and
``dead-letters``, and partition 0 of ``firm-facts`` (every firm fact is copied to every
partition), into a :class:`~stream.read.readstore.ReadStore` on disk, so it answers for every
declaration however partitions are spread, with memory that does not grow with them. It
resumes from the offsets the store holds. The model is the pipeline's own output: a few
milliseconds behind it, never ahead. The agents never read it (outputs wait for their
state: ``stream.runtime.outbox``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from stream import kafka
from stream.admin import BrokerUnavailable, connect_admin, topic_partitions
from stream.core.forecast_basis import Basis
from stream.read.readstore import ReadStore
from stream.topics import Topology

log = logging.getLogger(__name__)
STALE_AFTER = 30.0  # seconds without a poll after which the feed is taken for stopped
# What the read model takes from a record, and of what type: checked before it is applied.
_STATUS_FIELDS: dict[str, type | tuple[type, ...]] = {
    "declaration_id": str, "sequence": int, "status": str, "buyer_id": (str, type(None)),
}
_SUBSCRIPTION_FIELDS: dict[str, type | tuple[type, ...]] = {"id": str, "buyer_id": str}
_ATTEMPT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "subscription_id": str, "webhook_id": str, "outcome": str,
}
_LETTER_FIELDS: dict[str, type | tuple[type, ...]] = {
    "source_topic": str, "partition": int, "offset": int, "error_code": str,
}


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ValueError(f"not {what}")


def _shaped(record: Any, fields: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """``record`` when it is an object whose fields have the types given, else ValueError."""
    _require(isinstance(record, dict), "an object")
    for name, kind in fields.items():
        value = record.get(name)
        _require(isinstance(value, kind) and not isinstance(value, bool), f"{name} of its type")
    return record  # type: ignore[no-any-return]


class ReadModelFeed:
    """Keeps a ReadStore up to date from the output topics; ready once it has read
    everything that was on them when it started."""

    def __init__(self, bootstrap: str, topology: Topology, read_model: ReadStore) -> None:
        self.bootstrap, self.topology, self.read_model = bootstrap, topology, read_model
        self.ready = asyncio.Event()
        self.positions: dict[TopicPartition, int] = {  # next offset to read, per partition
            TopicPartition(topic, int(partition)): offset
            for where, offset in read_model.checkpoint().items()
            for topic, partition in [where.rsplit(":", 1)]
        }
        self.malformed = 0  # records skipped because they could not be read
        self.polled_at = time.monotonic()  # when the feed last asked for records
        self._names = {
            topology.name(t): t
            for t in ("declaration-status", "clearance-kpis", "dead-letters", "firm-facts",
                      "forecast-basis", "webhook-subscriptions", "webhook-deliveries")
        }

    async def _partitions(self) -> list[TopicPartition]:
        admin = await connect_admin(self.bootstrap)
        try:
            every = await topic_partitions(admin, self._names)
        finally:
            await admin.close()
        firm_facts = self.topology.name("firm-facts")
        return [tp for tp in every if tp.topic != firm_facts or tp.partition == 0]

    def _apply(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """Apply one record, or raise ValueError before anything of it is applied."""
        kind = self._names[topic]
        if kind == "clearance-kpis":
            snapshot = orjson.loads(value) if value else None
            _require(snapshot is None or isinstance(snapshot, dict), "a KPI snapshot")
            self.read_model.apply_kpi((key or b"").decode(), snapshot)
        elif kind == "declaration-status" and value is not None:
            self.read_model.apply_status(_shaped(orjson.loads(value), _STATUS_FIELDS))
        elif kind == "webhook-subscriptions":
            self.read_model.apply_subscription((key or b"").decode(), _shaped(
                orjson.loads(value), _SUBSCRIPTION_FIELDS) if value is not None else None)
        elif value is None:
            return
        elif kind == "webhook-deliveries":
            self.read_model.apply_attempt(_shaped(orjson.loads(value), _ATTEMPT_FIELDS))
        elif kind == "forecast-basis":
            self.read_model.apply_basis(Basis.from_json(_shaped(orjson.loads(value), {})))
        elif kind == "dead-letters":
            self.read_model.apply_dead_letter(_shaped(orjson.loads(value), _LETTER_FIELDS))
        else:
            self.read_model.apply_firm_fact(_shaped(orjson.loads(value), {}))

    @property
    def following(self) -> bool:
        """Caught up, and still reading: not ready when the feed has stopped."""
        return self.ready.is_set() and time.monotonic() - self.polled_at < STALE_AFTER

    async def run(self) -> None:
        """Follow the topics until cancelled. After a broker error it reconnects and
        carries on from where it was (not ready until it has caught up again)."""
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError, TimeoutError, BrokerUnavailable, KeyError) as exc:
                # KeyError: the topics do not exist yet (no worker has made them).
                self.ready.clear()
                log.warning("read model feed interrupted (%s); reconnecting", exc)
                await asyncio.sleep(1.0)
            except Exception:  # never a dead feed behind a ready answer: not ready, again
                self.ready.clear()
                log.exception("read model feed failed; starting it again")
                await asyncio.sleep(1.0)

    def _take(self, tp: TopicPartition, message: Any) -> None:
        """Apply one record; a record that cannot be read is skipped and counted. Its
        shape is checked before anything of it is applied, so a bad record never leaves
        half of itself behind; whatever else it raises, the feed goes on past it."""
        try:
            self._apply(tp.topic, message.key, message.value)
        except Exception as exc:  # a record's fault, never the feed's: skip it
            self.malformed += 1
            log.warning(
                "skipped a malformed record at %s:%s:%s (%s)",
                tp.topic, tp.partition, message.offset, type(exc).__name__,
            )
        self.positions[tp] = message.offset + 1

    async def _follow(self) -> None:
        consumer = kafka.consumer(
            self.bootstrap, enable_auto_commit=False,
            auto_offset_reset="earliest",  # a checkpoint past a topic made anew
            # Fetched records wait in memory. A dead letter is bounded now (64 KiB of the
            # body); the largest record here is a firm fact's copy, under 1 MiB, and the
            # broker hands over a first record larger than this anyway (KIP-74).
            max_partition_fetch_bytes=4 * self.topology.max_message_bytes,
            fetch_max_bytes=16 * 1024 * 1024,
        )
        await consumer.start()
        try:
            partitions = await self._partitions()
            consumer.assign(partitions)
            fresh = [tp for tp in partitions if tp not in self.positions]
            log.info("read model: %d partitions resume from the offsets held, %d from the start",
                     len(partitions) - len(fresh), len(fresh))
            if fresh:
                await consumer.seek_to_beginning(*fresh)
                for tp in fresh:  # held from now on, records or not
                    self.positions[tp] = await consumer.position(tp)
            for tp in partitions:
                if tp in self.positions:
                    consumer.seek(tp, self.positions[tp])
            targets = await consumer.end_offsets(partitions)
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                self.polled_at = time.monotonic()
                # Applied and stored with no await between: a request never sees half
                # of a batch, and the checkpoint always matches the state it covers.
                for tp, messages in batch.items():
                    for message in messages:
                        self._take(tp, message)
                if batch:
                    self.read_model.commit({f"{tp.topic}:{tp.partition}": offset
                                      for tp, offset in self.positions.items()})
                if not self.ready.is_set():
                    positions = {tp: await consumer.position(tp) for tp in partitions}
                    if all(positions[tp] >= end for tp, end in targets.items()):
                        self.ready.set()
        finally:
            await consumer.stop()

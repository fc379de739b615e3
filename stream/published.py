"""What the pipeline has published, folded into memory: the read model behind the API.

A worker that serves HTTP reads the whole of ``declaration-status``, ``clearance-kpis``
and ``dead-letters``, and partition 0 of ``firm-facts`` (every firm fact is copied to
every partition), so any worker answers for every declaration, however partitions are
spread. The model is the pipeline's own output: a few milliseconds behind it, never
ahead. The agents never read it (outputs wait for their state: ``stream.outbox``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from schemas.events import FirmEvent, ReturnDeclared, parse_event
from stream.admin import connect_admin, topic_partitions
from stream.core.eligibility import FirmHistory
from stream.kafka import client_options
from stream.topics import Topology

log = logging.getLogger(__name__)
EVENTS_HEADER = "x-events"  # on a status update: the ids of the events it was built from


def encode_events(event_ids: frozenset[str]) -> bytes:
    """The ``x-events`` header: a JSON array, since an event id may hold any character."""
    return orjson.dumps(sorted(event_ids))


def decode_events(raw: bytes | None) -> frozenset[str] | None:
    """The ids of an ``x-events`` header; None when absent or not a JSON array of text."""
    if not raw:
        return None
    try:
        ids = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return None
    return frozenset(ids)
TERMINAL = {"DEPARTED", "RETURNED", "WITHDRAWN"}


@dataclass
class StatusBook:
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_buyer: dict[str, set[str]] = field(default_factory=dict)
    kpis: dict[str, dict[str, Any]] = field(default_factory=dict)
    firms: dict[str, FirmHistory] = field(default_factory=dict)
    dead_letters: Counter[str] = field(default_factory=Counter)
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=50))
    _letters_seen: set[tuple[str, int, int]] = field(default_factory=set)

    def reset(self) -> None:
        """Forget everything (before reading the topics again from their beginning)."""
        for container in (self.statuses, self.by_buyer, self.kpis, self.firms,
                          self.dead_letters, self.recent, self._letters_seen):
            container.clear()

    def apply_dead_letter(self, letter: dict[str, Any]) -> None:
        where = (letter["source_topic"], letter["partition"], letter["offset"])
        if where not in self._letters_seen:  # a redelivered message counts once
            self._letters_seen.add(where)
            self.dead_letters[letter["error_code"]] += 1

    def apply_status(self, update: dict[str, Any]) -> None:
        declaration_id = update["declaration_id"]
        current = self.statuses.get(declaration_id)
        if current is not None and current["sequence"] > update["sequence"]:
            return  # an older update read late: the newer one stands
        if current is not None and current.get("buyer_id") != update.get("buyer_id"):
            self.by_buyer.get(current.get("buyer_id") or "", set()).discard(declaration_id)
        self.statuses[declaration_id] = update
        if update.get("buyer_id"):
            self.by_buyer.setdefault(update["buyer_id"], set()).add(declaration_id)
        self.recent.appendleft(update)

    def apply_kpi(self, key: str, snapshot: dict[str, Any] | None) -> None:
        if snapshot is None:
            self.kpis.pop(key, None)
        else:
            self.kpis[key] = snapshot

    def apply_firm_fact(self, fact: dict[str, Any]) -> None:
        event = parse_event(fact)
        if isinstance(event, FirmEvent | ReturnDeclared):
            self.firms.setdefault(event.firm_id, FirmHistory()).add(event)

    def declarations_of(self, buyer_id: str, status: str | None = None) -> list[dict[str, Any]]:
        ids = sorted(self.by_buyer.get(buyer_id, ()))
        found = [self.statuses[i] for i in ids]
        return [s for s in found if status is None or s["status"] == status]

    def open_count(self) -> int:
        return sum(1 for s in self.statuses.values() if s["status"] not in TERMINAL)

    def status_counts(self) -> Counter[str]:
        return Counter(s["status"] for s in self.statuses.values())


class ReadModelFeed:
    """Keeps a StatusBook up to date from the output topics; ready once it has read
    everything that was on them when it started."""

    def __init__(self, bootstrap: str, topology: Topology, book: StatusBook) -> None:
        self.bootstrap, self.topology, self.book = bootstrap, topology, book
        self.ready = asyncio.Event()
        self.positions: dict[TopicPartition, int] = {}  # next offset to read, per partition
        self.malformed = 0  # records skipped because they could not be read
        self._names = {
            topology.name(t): t
            for t in ("declaration-status", "clearance-kpis", "dead-letters", "firm-facts")
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
        kind = self._names[topic]
        if kind == "clearance-kpis":
            self.book.apply_kpi((key or b"").decode(), orjson.loads(value) if value else None)
        elif value is None:
            return
        elif kind == "declaration-status":
            self.book.apply_status(orjson.loads(value))
        elif kind == "dead-letters":
            self.book.apply_dead_letter(orjson.loads(value))
        else:
            self.book.apply_firm_fact(orjson.loads(value))

    async def run(self) -> None:
        """Follow the topics until cancelled. After a broker error it reconnects and
        carries on from where it was (not ready until it has caught up again)."""
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError, TimeoutError) as exc:
                self.ready.clear()
                log.warning("read model feed interrupted (%s); reconnecting", exc)
                await asyncio.sleep(1.0)

    def _take(self, tp: TopicPartition, message: Any) -> None:
        """Apply one record; a record that cannot be read is skipped and counted."""
        try:
            self._apply(tp.topic, message.key, message.value)
        except (ValueError, KeyError, TypeError) as exc:  # orjson's errors are ValueErrors
            self.malformed += 1
            log.warning(
                "skipped a malformed record at %s:%s:%s (%s)",
                tp.topic, tp.partition, message.offset, type(exc).__name__,
            )
        self.positions[tp] = message.offset + 1

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, **client_options(),
            max_partition_fetch_bytes=32 * 1024 * 1024,
        )
        await consumer.start()
        try:
            partitions = await self._partitions()
            consumer.assign(partitions)
            fresh = [tp for tp in partitions if tp not in self.positions]
            if fresh:
                await consumer.seek_to_beginning(*fresh)
            for tp in partitions:
                if tp in self.positions:
                    consumer.seek(tp, self.positions[tp])
            targets = await consumer.end_offsets(partitions)
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                for tp, messages in batch.items():
                    for message in messages:
                        self._take(tp, message)
                if not self.ready.is_set():
                    positions = {tp: await consumer.position(tp) for tp in partitions}
                    if all(positions[tp] >= end for tp, end in targets.items()):
                        self.ready.set()
        finally:
            await consumer.stop()

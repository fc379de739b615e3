"""Outputs go out after the state that records them.

A handler writes its tables (Faust sends each write to the table's changelog) and makes
outputs. Were the outputs sent at once, a worker killed before its changelog writes
were delivered would leave the topics ahead of the state its successor restores, and
the successor would give its next update a sequence number buyers had already seen.

So the outputs of a message are held until every changelog write it made is
acknowledged by the broker, and the message is acknowledged to Faust (its offset may
be committed) only once its outputs are handed to the producer, which Faust flushes
before every commit. Outputs leave in the order they were made. A successor never
finds outputs ahead of its state; what a killed worker had not sent, its successor
sends again when it reads the uncommitted message again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace
from typing import Any, cast

import faust

from stream.runtime.faust_fixes import fail_stop

# topic, key, value, partition, headers: the arguments of a producer send
Output = tuple[str, bytes | None, bytes | None, int | None, list[tuple[str, bytes]] | None]
Send = Callable[[Output], Awaitable[None]]
HELD_LIMIT = 1_000  # messages whose outputs may wait for their writes at once


@dataclass
class _Held:
    writes: list[asyncio.Future[Any]]
    outputs: list[Output]
    event: Any  # a Faust event, acknowledged once its outputs are handed over


@dataclass
class Outbox:
    send: Send  # hands one output to the producer
    limit: int = HELD_LIMIT
    writes: list[asyncio.Future[Any]] = field(default_factory=list)  # since the last seal
    changes: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # to send
    outputs: list[Output] = field(default_factory=list)
    _held: deque[_Held] = field(default_factory=deque)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _room: asyncio.Event = field(default_factory=asyncio.Event)
    _release: asyncio.Future[None] | None = None

    @property
    def held(self) -> int:
        return len(self._held)

    async def seal(self, event: Any = None) -> None:
        """Close what the current message made: its outputs leave after its writes,
        and ``event`` is acknowledged after its outputs. Messages are acknowledged in
        the order they came: Faust commits a partition up to its first unacknowledged
        offset only once one was committed before. Waits while too much is held."""
        changes, self.changes = self.changes, []
        for change in changes:  # the writes go to the producer before anything is acked
            await change()
        writes, outputs = self.writes, self.outputs
        self.writes, self.outputs = [], []
        if not outputs and not self._held:
            if event is not None:
                event.ack()  # the commit's flush delivers the writes before the offset
            return
        if not self._held and all(_delivered(w) for w in writes):
            await self._hand_over(_Held(writes, outputs, event))
            return
        self._held.append(_Held(writes, outputs, event))
        self._wake.set()
        if self._release is None or self._release.done():
            self._release = asyncio.ensure_future(self._release_in_order())
        while len(self._held) >= self.limit:
            self._room.clear()
            await self._room.wait()

    async def _hand_over(self, held: _Held) -> None:
        for output in held.outputs:
            await self.send(output)
        if held.event is not None:
            held.event.ack()

    async def _release_in_order(self) -> None:
        try:
            while True:
                while not self._held:
                    self._wake.clear()
                    await self._wake.wait()
                held = self._held[0]
                pending = [w for w in held.writes if not w.done()]
                if pending:
                    await asyncio.wait(pending)
                if not all(_delivered(write) for write in held.writes):
                    fail_stop("a changelog write was lost; its outputs are not sent")
                    return
                await self._hand_over(held)
                self._held.popleft()
                self._room.set()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            fail_stop(f"held outputs could not be handed to the producer ({exc!r})")


class _Write(asyncio.Future[Any]):
    """A changelog write on its way; ``message.partition`` is what Faust's table reads
    of the future ``send_changelog`` returns."""

    def __init__(self, partition: int) -> None:
        super().__init__()
        self.message = SimpleNamespace(partition=partition)


def _delivered(write: asyncio.Future[Any]) -> bool:
    return write.done() and not write.cancelled() and write.exception() is None


class HeldTable(faust.Table[Any, Any]):
    """A table whose changelog writes hold back the outputs of the message that made
    them (see Outbox); ``outbox`` is set by the agent that owns the table.

    A write goes straight to the producer when the outbox is sealed, like the outputs:
    Faust's way (a future message in its producer buffer, a task that publishes it,
    sensors on either side) costs more than the write. Faust's own callback still
    records each write's offset (RocksDB keeps it to know what it holds)."""

    outbox: Outbox | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stored_up_to: dict[Any, int] = {}  # per partition, until the next turn

    def __getitem__(self, key: Any) -> Any:
        """One read of the store: Faust's asks it whether it holds the key, then reads it
        (with RocksDB, two lookups for every ``get``)."""
        self.on_key_get(key)
        try:
            return self.data[key]
        except KeyError:
            return self.__missing__(key)

    def send_changelog(
        self, partition: int | None, key: Any, value: Any,
        key_serializer: Any = None, value_serializer: Any = None,
    ) -> Any:
        outbox = self.outbox
        if outbox is None or partition is None:  # None: Faust's partitioner picks one
            return super().send_changelog(
                partition, key, value, key_serializer, value_serializer
            )
        topic: Any = self.changelog_topic
        raw_key, _ = topic.prepare_key(key, key_serializer or self.key_serializer, None, {})
        raw_value, _ = topic.prepare_value(
            value, value_serializer or self.value_serializer, None, {}
        )
        written = _Write(partition)
        outbox.writes.append(written)
        outbox.changes.append(partial(self._write, partition, raw_key, raw_value, written))
        return written

    async def _write(
        self, partition: int | None, key: bytes | None, value: bytes | None,
        written: asyncio.Future[Any],
    ) -> None:
        topic = self.changelog_topic.get_topic_name()
        delivery = await self.app.producer.send(topic, key, value, partition, None, None)
        cast("asyncio.Future[Any]", delivery).add_done_callback(partial(self._written, written))

    def _written(self, written: asyncio.Future[Any], delivery: asyncio.Future[Any]) -> None:
        if delivery.cancelled():
            written.cancel()
        elif delivery.exception() is not None:
            written.set_exception(cast(BaseException, delivery.exception()))
        else:
            written.set_result(delivery.result())
            if not self.app.in_transaction:  # exactly-once records it at the commit
                self._note_stored(delivery.result())
                return
        # Faust's callback (with fix 5): a lost write stops the worker.
        self._on_changelog_sent(delivery)  # type: ignore[arg-type]

    def _note_stored(self, metadata: Any) -> None:
        """Note how far the changelog is written. The store records it (RocksDB keeps
        the offset it holds up to, to restore only what follows) once per partition and
        turn of the event loop, not for every write as Faust does: a write to RocksDB
        each. Recorded a moment later, it is only ever behind: a restore reads more."""
        pending = self._stored_up_to
        if not pending:
            asyncio.get_running_loop().call_soon(self._record_stored)
        tp = metadata.topic_partition
        pending[tp] = max(pending.get(tp, -1), metadata.offset)

    def _record_stored(self) -> None:
        pending, self._stored_up_to = self._stored_up_to, {}
        for tp, offset in pending.items():
            self.data.set_persisted_offset(tp, offset)

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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stream.runtime.faust_fixes import fail_stop

# topic, key, value, partition, headers: the arguments of a producer send
Output = tuple[str, bytes | None, bytes | None, int | None, list[tuple[str, bytes]] | None]
Send = Callable[[list[Output]], Awaitable[None]]  # hands outputs over, in order
# Outputs (and seals) that may wait for their writes at once; then a seal waits.
HELD_LIMIT = 2_000


@dataclass
class _Held:
    writes: list[asyncio.Future[Any]]
    outputs: list[Output]
    events: Sequence[Any]  # Faust events, acknowledged once the outputs are handed over


@dataclass
class Outbox:
    send: Send  # hands a seal's outputs to the producer
    limit: int = HELD_LIMIT
    writes: list[asyncio.Future[Any]] = field(default_factory=list)  # since the last seal
    changes: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # to send
    outputs: list[Output] = field(default_factory=list)
    _held: deque[_Held] = field(default_factory=deque)
    _weight: int = 0  # outputs and seals held
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _room: asyncio.Event = field(default_factory=asyncio.Event)
    _release: asyncio.Future[None] | None = None

    @property
    def held(self) -> int:
        return len(self._held)

    async def seal(self, events: Sequence[Any] = ()) -> None:
        """Close what the messages handled since the last seal made (a slice of them,
        or part of one message's work when ``events`` is empty): the outputs leave
        after the writes, and ``events`` are acknowledged after the outputs. Messages
        are acknowledged in the order they came: Faust commits a partition up to its
        first unacknowledged offset only once one was committed before. Waits while
        too much is held."""
        changes, self.changes = self.changes, []
        for change in changes:  # the writes go to the producer before anything is acked
            await change()
        writes, outputs = self.writes, self.outputs
        self.writes, self.outputs = [], []
        if not outputs and not self._held:
            for event in events:
                event.ack()  # the commit's flush delivers the writes before the offset
            return
        if not self._held and all(_delivered(w) for w in writes):
            await self._hand_over(_Held(writes, outputs, events))
            return
        self._held.append(_Held(writes, outputs, events))
        self._weight += len(outputs) + 1
        self._wake.set()
        if self._release is None or self._release.done():
            self._release = asyncio.ensure_future(self._release_in_order())
        while self._weight >= self.limit:
            self._room.clear()
            await self._room.wait()

    async def _hand_over(self, held: _Held) -> None:
        if held.outputs:
            await self.send(held.outputs)
        for event in held.events:
            event.ack()

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
                self._weight -= len(held.outputs) + 1
                self._room.set()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            fail_stop(f"held outputs could not be handed to the producer ({exc!r})")


def _delivered(write: asyncio.Future[Any]) -> bool:
    return write.done() and not write.cancelled() and write.exception() is None

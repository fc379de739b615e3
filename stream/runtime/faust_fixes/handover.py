"""Fix 8: a record handed over without tasks (robinhood/faust#563; checked against
faust-streaming 0.15.3). The fetch loop awaited every record's delivery through
``wait_first``: four tasks and three cancellations a record, whether or not anything
could make it wait. The delivery is stepped by hand, and runs as Faust ran it only when
it waits (flow stopped, a queue full). Used by ``fetch_loop``; it patches nothing itself."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

from faust.types.tuples import TP


async def _deliver(self: Any, callback: Callable[..., Any], message: Any) -> bool:
    """Hand a record to Faust's callback; False when a rebalance stopped the flow first.

    Faust awaits every record's callback through ``wait_first`` against the flow's
    suspension (and the service's stop and crash): four tasks and three cancellations a
    record (robinhood/faust#563). The callback waits only when the flow is stopped, the
    producer buffer is full or a stream's queue is; so it is first stepped by hand, and
    only if it waits does the rest of it run as Faust runs all of it."""
    delivery = callback(message)
    try:
        waiting_on = delivery.send(None)
    except StopIteration:
        return True  # taken without waiting: no task made
    rest = _resume(delivery, waiting_on)
    result = await self.wait_first(rest, self.suspend_flow.wait())
    return rest in result.done


async def _resume(coroutine: Any, waiting_on: Any) -> Any:
    """Drive a coroutine on from a step made by hand, as its task would have: wait for
    what it waits on, then step it again; a cancellation is passed in to it."""
    while True:
        try:
            if waiting_on is None:
                await asyncio.sleep(0)  # a bare yield: one turn of the loop
            else:
                waiting_on._asyncio_future_blocking = False
                await asyncio.wait([waiting_on])
        except asyncio.CancelledError as cancelled:
            if waiting_on is not None:
                waiting_on.cancel()
            step = partial(coroutine.throw, cancelled)
        else:
            step = partial(coroutine.send, None)
        try:
            waiting_on = step()
        except StopIteration as done:
            return done.value


async def _deliver_other_record(
    self: Any, tp: TP, message: Any, callback: Callable[..., Any]
) -> None:
    """Changelog records: as Faust does (recovery seeks and reads them itself)."""
    read = self._read_offset[tp]
    if read is None or message.offset >= read:
        await self.wait_first(callback(message), self.suspend_flow.wait())
        self._read_offset[tp] = message.offset


PATCHES: list[tuple[type, str, Any]] = [
]

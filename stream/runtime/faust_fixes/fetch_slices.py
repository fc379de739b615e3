"""Fix 10: a partition's slice of a fetch handed to its agent as one item
(robinhood/faust#563, "Message consumption is slow"; checked against faust-streaming
0.15.3). Faust hands every record over on its own: the conductor takes a lock, waits on
the flow control and the producer buffer, builds an Event and puts it in the agent's
queue; the agent's stream takes it with a turn of the event loop, calls sensors, sets
the current event and acknowledges it. That is most of a bare Faust agent's time.

Here the records of one partition, as one fetch brought them, go to an agent that takes
slices (``takes_slices``) as ``FetchSlice`` items of at most ``limit`` records: one
wait on the flow control, the producer buffer and the queue for all of them. The
fetch loop's rules hold as for single records (fix 1: nothing fetched before the last
seek of its partition, a delivery cut short holds the partition until the next seek;
fix 3: skipped offsets noted as gaps). The agent takes each record of a slice with
``take``, as Faust's stream takes an event: a record of an earlier consumer generation,
or taken while the flow is stopped (a rebalance), is not handled, and neither is the
rest of its slice (the seek that ends every rebalance reads them again); a record taken
is tracked, so that a rebalance waits for its acknowledgement, and its ``Taken`` is the
current event, so that table writes know their partition. Acknowledging a ``Taken``
acknowledges its offset. Faust's per-stream sensors are not called for these records;
its message sensors are (``on_message_in``, ``on_message_out``).
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from faust.streams import _current_event
from faust.types.tuples import TP

from stream.runtime.faust_fixes.handover import _deliver
from stream.runtime.faust_fixes.seek_turns import _FetchState


class FetchSlice:
    """Records of one partition, in offset order, fetched together: one queue item."""

    __slots__ = ("messages", "tp")

    def __init__(self, tp: TP, messages: list[Any]) -> None:
        self.tp = tp
        self.messages = messages


class Taken:
    """A record of a slice as its agent takes it: Faust's Event, as far as the agents,
    the outbox and the tables use one (its message; acknowledging it)."""

    __slots__ = ("__weakref__", "_consumer", "_on_message_out", "message")

    def __init__(self, message: Any, consumer: Any, on_message_out: Callable[..., Any]) -> None:
        self.message = message
        self._consumer = consumer
        self._on_message_out = on_message_out

    def ack(self) -> bool:
        message = self.message
        last = bool(message.ack(self._consumer))
        if last:
            self._on_message_out(message.tp, message.offset, message)
        return last


def takes_slices(channel: Any, limit: int, buffer_records: int) -> None:
    """Mark an agent's channel: its records come as slices of at most ``limit``. Its
    queue holds as many records as Faust's would (``buffer_records``), in slices."""
    channel._cs_slice_limit = limit
    channel.queue._maxsize = max(2, math.ceil(buffer_records / limit))


def sliced_channels(app: Any, tp: TP) -> tuple[list[Any], int] | None:
    """The channels reading ``tp`` and their slice size, when every one takes slices."""
    channels = app.topics._tp_index.get(tp)
    if not channels:
        return None
    limits: list[int] = []
    for channel in channels:
        limit = getattr(channel, "_cs_slice_limit", None)
        if limit is None:
            return None
        limits.append(limit)
    return list(channels), min(limits)


def in_order(consumer: Any, state: _FetchState, tp: TP, messages: Sequence[Any]) -> list[Any]:
    """The records not delivered yet, noting the offsets the log skips as gaps (a fact
    of the log, true whether or not the records after them are delivered)."""
    expected, kept = state.next.get(tp), []
    for message in messages:
        offset = message.offset
        if expected is not None and offset < expected:
            continue  # delivered already
        if expected is not None and offset > expected:
            consumer._gap[tp].addi(expected, offset)
            consumer._gap[tp].merge_overlaps()
        kept.append(message)
        expected = offset + 1
    return kept


async def deliver_slices(
    consumer: Any, state: _FetchState, tp: TP, messages: list[Any],
    sliced: tuple[list[Any], int], fetched_in: int,
) -> None:
    """Hand a partition's records of a fetch to its channels, a slice at a time."""
    channels, limit = sliced
    if fetched_in != state.epochs.get(tp, 0) or tp in state.cut_short:
        return  # fetched before the partition's last seek, or waiting for one
    kept = in_order(consumer, state, tp, messages)
    for start in range(0, len(kept), limit):
        if fetched_in != state.epochs.get(tp, 0) or tp in state.cut_short:
            return  # a seek came while the slices before were handed over
        if consumer._commit_every is not None and consumer._n_acked >= consumer._commit_every:
            consumer._n_acked = 0
            await consumer.commit()
        item = FetchSlice(tp, kept[start:start + limit])
        if not await _deliver(consumer, partial(_put, consumer.app, channels), item):
            state.cut_short.add(tp)  # a rebalance stopped the flow: wait for its seek
            return
        state.next[tp] = item.messages[-1].offset + 1
        consumer._read_offset[tp] = item.messages[-1].offset


async def _put(app: Any, channels: list[Any], item: FetchSlice) -> None:
    """What Faust's conductor does for one record, once for the slice."""
    await app.flow_control.acquire()
    await app.producer.buffer.wait_until_ebb()
    for message in item.messages:
        message.incref(len(channels))
    for channel in channels:
        queue = channel.queue
        if queue.full():
            await _put_when_room(queue, item)
        else:
            queue.force_put_nowait(item)


async def _put_when_room(queue: Any, item: FetchSlice) -> None:
    """Wait for room, as Faust's conductor does: a rebalance that clears the queue
    cancels the wait, and the slice is dropped with what the queue held (the seek that
    ends the rebalance reads it again); that is not an error of the fetch loop."""
    put = asyncio.ensure_future(queue.put(item))
    try:
        await asyncio.wait([put])
    except asyncio.CancelledError:
        put.cancel()
        raise


def take(app: Any, message: Any) -> Taken | None:
    """A record of a slice as its agent takes it, or None when it is not to be handled
    (an earlier consumer generation, or the flow is stopped): as Faust's stream does."""
    if not app.flow_control.is_active() or message.generation_id != app.consumer_generation_id:
        return None
    consumer = app.consumer
    if not message.tracked:
        message.tracked = True  # a rebalance waits until it is acknowledged
        consumer._unacked_messages.add(message)
        consumer._on_message_in(message.tp, message.offset, message)
    taken = Taken(message, consumer, app.sensors.on_message_out)
    _current_event.set(weakref.ref(taken))  # type: ignore[arg-type]
    return taken


PATCHES: list[tuple[type, str, Any]] = []  # used by fetch_loop and the agents

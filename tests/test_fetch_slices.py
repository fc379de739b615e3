"""Faust fix 10: a partition's slice of a fetch handed to its agent as one item, under
the fetch loop's rules for single records (fixes 1 and 3), and taken by the agent as
Faust's stream takes an event."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any, cast

from faust.streams import current_event
from faust.types.tuples import TP
from intervaltree import IntervalTree
from mode.utils.queues import FlowControlEvent, ThrowableQueue

from stream.runtime import faust_fixes
from stream.runtime.faust_fixes import fetch_loop, fetch_slices
from stream.runtime.faust_fixes.fetch_loop import _deliver_partition
from stream.runtime.faust_fixes.fetch_slices import take, takes_slices
from stream.runtime.faust_fixes.seek_turns import _FetchState

INPUT = TP("declarations", 0)


class Record:
    def __init__(self, offset: int, generation: int = 1) -> None:
        self.offset, self.topic, self.tp = offset, INPUT.topic, INPUT
        self.generation_id, self.refcount = generation, 0
        self.tracked, self.acked = False, False

    def incref(self, n: int = 1) -> None:
        self.refcount += n

    def ack(self, consumer: Any, n: int = 1) -> bool:
        self.refcount -= n
        if self.refcount == 0 and not self.acked:
            self.acked = True
            consumer.acked.append(self.offset)
            return True
        return False


class Consumer:
    """What the fetch loop and ``take`` read of Faust's consumer and app."""

    def __init__(self, channels: list[Any]) -> None:
        flow = FlowControlEvent()
        flow.resume()

        async def ebb() -> None:
            return None

        self.app = SimpleNamespace(
            flow_control=flow, consumer=self, consumer_generation_id=1,
            producer=SimpleNamespace(buffer=SimpleNamespace(wait_until_ebb=ebb)),
            topics=SimpleNamespace(_tp_index={INPUT: set(channels)}),
            sensors=SimpleNamespace(on_message_out=self._message_out),
        )
        self._gap: defaultdict[TP, IntervalTree] = defaultdict(IntervalTree)
        self._read_offset: dict[TP, int | None] = {}
        self._commit_every, self._n_acked = None, 0
        self._unacked_messages: set[Any] = set()
        self.suspend_flow = asyncio.Event()
        self.messages_in: list[int] = []
        self.messages_out: list[int] = []
        self.acked: list[int] = []
        self.per_record: list[int] = []  # records handed over one at a time

    def _on_message_in(self, tp: TP, offset: int, message: Any) -> None:
        self.messages_in.append(offset)

    def _message_out(self, tp: TP, offset: int, message: Any) -> None:
        self.messages_out.append(offset)

    async def callback(self, message: Any) -> None:
        self.per_record.append(message.offset)

    async def wait_first(self, *coros: Any) -> Any:
        futures = {asyncio.ensure_future(c): c for c in coros}
        done, pending = await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
        for future in pending:
            future.cancel()
        for future in done:
            future.result()  # as mode's wait_first: a failure (a cancellation too) propagates
        return SimpleNamespace(done=[futures[f] for f in done])


class Channel:
    """An agent's channel: its queue, as Faust makes it (under the app's flow control)."""

    def __init__(self, flow: FlowControlEvent, limit: int, buffer_records: int) -> None:
        self.queue: ThrowableQueue[Any] = ThrowableQueue(
            maxsize=4096, flow_control=flow, clear_on_resume=True)
        takes_slices(self, limit, buffer_records)


def sliced(limit: int, buffer_records: int = 4096) -> tuple[Consumer, Channel]:
    """A consumer whose partition is read by one agent that takes slices of ``limit``."""
    consumer = Consumer([])
    channel = Channel(consumer.app.flow_control, limit, buffer_records)
    consumer.app.topics._tp_index = {INPUT: {channel}}
    return consumer, channel


def items(channel: Channel) -> list[list[int]]:
    return [[m.offset for m in item.messages] for item in cast(Any, channel.queue)._queue]


async def deliver(consumer: Consumer, state: _FetchState, *offsets: int, epoch: int = 0) -> None:
    records = [Record(o) for o in offsets]
    await _deliver_partition(consumer, state, INPUT, records, consumer.callback, epoch)


async def test_a_partitions_records_go_as_slices_in_order_repeats_dropped_gaps_noted() -> None:
    consumer, channel = sliced(3, 4096)
    state = _FetchState()
    state.sought(INPUT, 10)
    await deliver(consumer, state, 10, 11, 11, 12, 15, 16, 17, epoch=1)
    assert items(channel) == [[10, 11, 12], [15, 16, 17]]  # at most 3 a slice
    assert [(i.begin, i.end) for i in consumer._gap[INPUT]] == [(13, 15)]
    assert state.next[INPUT] == 18 and consumer._read_offset[INPUT] == 17
    assert consumer.per_record == []
    assert all(m.refcount == 1 for item in cast(Any, channel.queue)._queue for m in item.messages)


async def test_without_a_channel_that_takes_slices_records_go_one_at_a_time() -> None:
    consumer = Consumer([])
    consumer.app.topics._tp_index = {INPUT: {object()}}  # Faust's own channel
    await deliver(consumer, _FetchState(), 0, 1, 2)
    assert consumer.per_record == [0, 1, 2]


async def test_records_fetched_before_the_last_seek_are_not_delivered() -> None:
    consumer, channel = sliced(2, 4096)
    state = _FetchState()
    await deliver(consumer, state, 5, epoch=0)
    state.sought(INPUT, 3)  # a rebalance ends: back to the committed offset 3
    await deliver(consumer, state, 6, 7, epoch=0)  # the rest of a fetch made before it
    await deliver(consumer, state, 3, 4, 5, epoch=1)
    assert items(channel) == [[5], [3, 4], [5]]


async def test_a_full_queue_waits_and_a_rebalance_cuts_the_delivery_short() -> None:
    """The queue holds as many records as Faust's (here 4, in slices of 2: two slices).
    A slice that finds it full waits; when the flow stops (a rebalance begins) the
    partition is held until the seek that ends the rebalance."""
    consumer, channel = sliced(2, 4)
    state = _FetchState()
    delivery = asyncio.ensure_future(deliver(consumer, state, 0, 1, 2, 3, 4, 5))
    for _ in range(20):
        await asyncio.sleep(0)
    assert items(channel) == [[0, 1], [2, 3]] and not delivery.done()
    consumer.suspend_flow.set()  # Faust's consumer.stop_flow()
    consumer.app.flow_control.suspend()
    channel.queue.clear()  # Faust clears the agents' queues; the waiting put is cancelled
    await asyncio.wait_for(delivery, 5)  # not an error of the fetch loop
    assert INPUT in state.cut_short and state.next[INPUT] == 4
    await deliver(consumer, state, 6, epoch=0)
    assert items(channel) == []  # held until the seek


async def test_a_queue_cleared_while_a_slice_waits_is_not_an_error() -> None:
    consumer, channel = sliced(1, 2)
    state = _FetchState()
    delivery = asyncio.ensure_future(deliver(consumer, state, 0, 1, 2))
    for _ in range(20):
        await asyncio.sleep(0)
    assert items(channel) == [[0], [1]]
    channel.queue.clear()  # cleared without the flow stopping (Faust's resume clears too)
    await asyncio.wait_for(delivery, 5)
    assert state.next[INPUT] == 3  # dropped with the queue, as Faust's conductor drops


def test_a_taken_record_is_tracked_current_and_acknowledged_once() -> None:
    consumer = Consumer([])
    record = Record(7)
    record.incref()
    taken = take(consumer.app, record)
    assert taken is not None
    assert record.tracked and record in consumer._unacked_messages
    assert consumer.messages_in == [7]
    event: Any = current_event()
    assert event is taken and event.message is record  # tables find the partition here
    assert taken.ack() is True and consumer.acked == [7] and consumer.messages_out == [7]
    assert taken.ack() is False and consumer.messages_out == [7]


def test_a_record_of_another_generation_or_taken_while_the_flow_is_stopped_is_not() -> None:
    consumer = Consumer([])
    stale = Record(1, generation=0)
    assert take(consumer.app, stale) is None and not stale.tracked
    consumer.app.flow_control.suspend()
    current = Record(2, generation=1)
    assert take(consumer.app, current) is None and not current.tracked
    assert consumer._unacked_messages == set()


def test_fix_10_is_installed_in_the_fetch_loop() -> None:
    assert fetch_slices in faust_fixes.FIXES
    assert vars(fetch_loop)["deliver_slices"] is fetch_slices.deliver_slices
    assert vars(fetch_loop)["sliced_channels"] is fetch_slices.sliced_channels

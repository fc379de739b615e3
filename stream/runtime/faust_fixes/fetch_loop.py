"""Faust's fetch loop (``Consumer._drain_messages``), replaced whole (checked against
faust-streaming 0.15.3), carrying three fixes:

- fix 1, second half (#596): a record fetched before the last seek of its partition is
  never delivered (the seek fetches it again), and a delivery cut short by a rebalance
  leaves the partition waiting for the seek that every rebalance ends with;
- fix 3 (#606), its other half: the offsets the log skips between two records (markers,
  retention) are noted as a gap, so ``commit_holes`` knows a real hole from a skip;
- fix 6 (#53): one slow agent does not starve the others. Faust handed records over one
  at a time, so while the lifecycle agent's queue was full no record reached the firms
  or KPI agents. Each partition's records of a batch are delivered by a task of their
  own, in order; the next fetch comes once the batch is handed over.

It hands a partition's records to agents that take slices a slice at a time (fix 10,
``fetch_slices``), and to any other channel one record at a time (fix 8, ``handover``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from faust.transport import consumer as consumer_module
from faust.types.tuples import TP

from stream.runtime.faust_fixes.base import Consumer
from stream.runtime.faust_fixes.fetch_slices import deliver_slices, sliced_channels
from stream.runtime.faust_fixes.handover import _deliver, _deliver_other_record
from stream.runtime.faust_fixes.seek_turns import _FetchState, _state


async def _drain_messages(self: Any, fetcher: Any) -> None:
    """Faust's fetch loop (``Consumer._drain_messages``), delivering each stream record
    only if no seek of its partition happened since it was fetched, in offset order,
    noting the offsets the log skips as gaps. Each partition's records of a batch are
    delivered by a task of their own, so an agent whose queue is full does not hold back
    the other agents' records of the batch: Faust's single loop let one slow agent starve
    every other. The next fetch comes once the whole batch is handed over."""
    callback, getmany = self.callback, self.getmany
    consumer_should_stop = self._stopped.is_set
    fetcher_should_stop = fetcher._stopped.is_set
    acks_enabled_for = self.app.topics.acks_enabled_for
    state = _state(self)
    try:
        while not (consumer_should_stop() or fetcher_should_stop()):
            self.diag.set_flag(consumer_module.CONSUMER_FETCHING)
            batch = getmany(timeout=1.0)
            await self.sleep(0)
            if self.should_stop:
                break
            streams: dict[TP, list[Any]] = {}
            async for tp, message in batch:
                if acks_enabled_for(message.topic):
                    streams.setdefault(tp, []).append(message)
                else:
                    await _deliver_other_record(self, tp, message, callback)
            epochs = getattr(self, "_cs_batch_epochs", {})
            await _deliver_batch(self, state, streams, callback, epochs)
            self.diag.unset_flag(consumer_module.CONSUMER_FETCHING)
    except self.consumer_stopped_errors:
        if self.transport.app.should_stop:
            return
        raise
    except asyncio.CancelledError:
        if self.transport.app.should_stop:
            return
        raise
    finally:
        self.diag.unset_flag(consumer_module.CONSUMER_FETCHING)


async def _deliver_batch(
    self: Any, state: _FetchState, streams: dict[TP, list[Any]], callback: Callable[..., Any],
    epochs: dict[TP, int],
) -> None:
    """Hand each partition's records of a batch over in a task of its own, in order,
    and return once all are: an agent whose queue is full holds back only its own
    partitions' records. A delivery that fails fails the batch."""
    tasks = [
        asyncio.ensure_future(
            _deliver_partition(self, state, tp, messages, callback, epochs.get(tp, 0))
        )
        for tp, messages in streams.items()
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()


async def _deliver_partition(
    self: Any, state: _FetchState, tp: TP, messages: list[Any], callback: Callable[..., Any],
    fetched_in: int,
) -> None:
    sliced = sliced_channels(self.app, tp)
    if sliced is not None:  # fix 10: to agents that take slices, a slice at a time
        await deliver_slices(self, state, tp, messages, sliced, fetched_in)
        return
    for n, message in enumerate(messages, 1):
        await _deliver_stream_record(self, state, tp, message, callback, fetched_in)
        if not n % 100:
            await asyncio.sleep(0)


async def _deliver_stream_record(
    self: Any, state: _FetchState, tp: TP, message: Any, callback: Callable[..., Any],
    fetched_in: int,
) -> None:
    """``fetched_in``: the seek epoch of the partition when its batch was fetched."""
    if fetched_in != state.epochs.get(tp, 0) or tp in state.cut_short:
        return  # fetched before the partition's last seek, or waiting for one
    offset, expected = message.offset, state.next.get(tp)
    if expected is not None and offset < expected:
        return  # delivered already
    if expected is not None and offset > expected:
        # The log has no records at these offsets (markers, retention): not a hole.
        self._gap[tp].addi(expected, offset)
        self._gap[tp].merge_overlaps()
    if self._commit_every is not None and self._n_acked >= self._commit_every:
        self._n_acked = 0
        await self.commit()
    if not await _deliver(self, callback, message):
        # A rebalance stopped the flow mid-delivery: nothing more of this partition until
        # the seek that ends every rebalance puts it back at its committed offset.
        state.cut_short.add(tp)
        return
    state.next[tp] = offset + 1
    self._read_offset[tp] = offset


PATCHES: list[tuple[type, str, Any]] = [
    (Consumer, "_drain_messages", _drain_messages),
]

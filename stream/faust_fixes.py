"""Fixes to faust-streaming, applied once before any app is built.

Each fix names the upstream issue it works around and was checked against
``CHECKED_VERSION`` only: on another Faust version the worker refuses to start (set
``CUSTOMS_STREAM_UNCHECKED_FAUST=1`` once ``tests/test_faust_fixes.py`` and the fault
harness have been run on it). Every fix has a test that fails without it.

1. **No message lost to a seek (#596).** Faust's fetch loop runs beside seeks (table
   recovery, the seek to committed offsets after a rebalance), and the consumer's thread
   runs a fetch and a seek at the same time. Records fetched before a seek were handed to
   the streams after it, the read offset jumped past the re-fetched ones, which were
   then dropped as already read ("DROPPED MESSAGE ROFF"), and a record whose delivery
   was cut short by a rebalance still counted as read. Fixed: fetches and seeks take
   turns; each stream partition has a seek epoch, and a record fetched before the last
   seek of its partition is never delivered (the seek fetches it again); a delivery cut
   short leaves the partition waiting for the seek that every rebalance ends with.
2. **Every partition is sought after a rebalance.** ``seek_to_committed`` leaves a
   partition with no committed offset (or offset 0) where the fetcher happens to be;
   such stream partitions are sought to their beginning (``auto_offset_reset`` is
   ``earliest``).
3. **Never commit over a hole (#606).** Faust committed past a single unacknowledged
   offset at the head of a partition (``min(acked) - committed > 1``). With 1, any
   offset the log really skips (transaction markers, retention) is known: the fetch
   loop records the offsets between consecutive records as a gap.
4. **A flush is a flush.** ``ProducerBuffer.flush`` gave up after 0.1 s without
   progress, so changelog writes could trail the commit of the offsets that caused
   them. It now waits until what the buffer held when it began is delivered, and fails
   (no commit) after ``FLUSH_DEADLINE``.
5. **A lost changelog write stops the worker**, like a lost output: the offsets behind
   it must not be committed.
6. **One slow agent does not starve the others (#53).** The fetch loop handed records
   over one at a time, so while the lifecycle agent's queue was full no record reached
   the firms or KPI agents: firm facts came minutes after the declarations they concern,
   and KPIs stood still. Each partition's records of a batch are now delivered by a task
   of their own, in order; the next fetch comes once the batch is handed over.
7. **Tables restored in bulk.** Faust restores a table record by record through its
   consumer thread, a decode it does not need and a queue: about 2,300 records a second.
   Once recovery knows which active changelog partitions to read, those of the
   project's RocksDB store are read in large batches straight into RocksDB
   (``stream/bulk_restore.py``), and recovery carries on from there.
8. **A record handed over without tasks (robinhood/faust#563).** The fetch loop awaited
   every record's delivery through ``wait_first``: four tasks and three cancellations a
   record, whether or not anything could make it wait. The delivery is now stepped by
   hand, and runs as Faust ran it only when it waits (flow stopped, a queue full).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from functools import partial
from typing import Any

import faust
from faust.tables.base import Collection
from faust.tables.recovery import Recovery
from faust.transport import consumer as consumer_module
from faust.transport.producer import ProducerBuffer
from faust.types.tuples import TP

log = logging.getLogger(__name__)

CHECKED_VERSION = "0.15.3"
FLUSH_DEADLINE = 60.0  # seconds a buffer flush may take before the commit is refused
EXIT_LOST_WRITE = 70  # EX_SOFTWARE: the supervisor restarts; the last commit stands

Consumer = consumer_module.Consumer
ThreadDelegateConsumer = consumer_module.ThreadDelegateConsumer
_ORIGINAL: dict[str, Any] = {}


def faust_original(owner: type, name: str) -> Any:
    """Faust's own version of a patched attribute."""
    return _ORIGINAL.get(name) or owner.__dict__[name]


def fail_stop(reason: str) -> None:
    """Stop the process at once, before any further commit: the restarted worker
    reprocesses from the last commit (outputs are idempotent)."""
    log.critical("%s; stopping", reason)
    logging.shutdown()
    os._exit(EXIT_LOST_WRITE)


# -- 1. fetches and seeks take turns; records from before a seek are not delivered --------

def _state(consumer: Any) -> Any:
    """The fix's own bookkeeping on a consumer (made on first use)."""
    state = consumer.__dict__.get("_cs_fetch_state")
    if state is None:
        state = consumer.__dict__["_cs_fetch_state"] = _FetchState()
    return state


class _FetchState:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.epochs: dict[TP, int] = {}  # bumped by every seek of the partition
        self.next: dict[TP, int] = {}  # next offset the stream expects, after a seek
        self.cut_short: set[TP] = set()  # waiting for a seek after an interrupted delivery

    def sought(self, tp: TP, offset: int | None) -> None:
        self.epochs[tp] = self.epochs.get(tp, 0) + 1
        self.cut_short.discard(tp)
        if offset is None:
            self.next.pop(tp, None)
        else:
            self.next[tp] = offset


async def _getmany(self: Any, active_partitions: Any, timeout: float) -> Any:
    state = _state(self)
    async with state.lock:
        records = await self._thread.getmany(active_partitions, timeout)
        # Read by the fetch loop for each record of this batch (one batch at a time).
        self._cs_batch_epochs = dict(state.epochs)
    return records


async def _seek(self: Any, partition: TP, offset: int) -> None:
    async with _state(self).lock:
        self._thread.seek(partition, offset)
        _state(self).sought(partition, offset)


async def _seek_wait(self: Any, partitions: Any) -> None:
    async with _state(self).lock:
        await self._thread.seek_wait(partitions)
        for tp, offset in partitions.items():
            _state(self).sought(tp, offset)


async def _perform_seek(self: Any) -> None:
    """Seek every partition to its committed offset, and stream partitions that have
    none to their beginning; the fetch loop then starts each afresh."""
    state = _state(self)
    async with state.lock:
        committed = await self._thread.seek_to_committed()
        fresh = [tp for tp, offset in committed.items()
                 if not offset and not self._is_changelog_tp(tp)]
        if fresh:
            await self._thread.seek_to_beginning(*fresh)
        for tp, offset in committed.items():
            known = offset is not None and offset >= 0
            self._read_offset[tp] = offset if known else None
            if known:
                self._committed_offset[tp] = offset  # 0 too: Faust took 0 for "none"
            if offset or tp in fresh:
                state.sought(tp, offset or None)


async def _drain_messages(self: Any, fetcher: Any) -> None:  # pragma: no cover - Faust's loop
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


# -- 8. a record handed over without tasks when nothing makes it wait ---------------------

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


# -- 3. never commit over a hole at the head of the acknowledged offsets ------------------

def _new_offset(self: Any, tp: TP) -> int | None:
    acked = self._acked[tp]
    committed = self._committed_offset[tp]
    if acked and committed is not None:
        gaps = self._gap[tp]
        head = min([*acked, *(interval.begin for interval in gaps)])
        if head > committed:
            return None  # the offset at ``committed`` was never handled
    result: int | None = faust_original(Consumer, "_new_offset")(self, tp)
    return result


# -- 4. a flush drains the buffer -----------------------------------------------------------

class FlushFailed(RuntimeError):
    """The producer buffer did not deliver in time: the commit must not go out."""


async def _flush_atmost(self: Any, max_messages: int | None) -> int:
    """Wait until the messages in the buffer when the flush began (at most
    ``max_messages`` of them) are delivered. What is added meanwhile is for the next
    flush: waiting for an empty buffer never ends while handlers keep writing."""
    waiting = list(self.pending._queue)[:max_messages]
    if not waiting:
        return 0
    if self.state != "running":
        raise FlushFailed("cannot flush: the producer is not running")
    _, undelivered = await asyncio.wait(waiting, timeout=FLUSH_DEADLINE)
    if undelivered:
        raise FlushFailed(
            f"producer buffer not drained in {FLUSH_DEADLINE:.0f}s "
            f"({len(undelivered)} of {len(waiting)} undelivered)"
        )
    return len(waiting)


# -- 5. a lost changelog write stops the worker ---------------------------------------------

def _on_changelog_sent(self: Any, fut: Any) -> None:
    if fut.cancelled() or fut.exception() is not None:
        reason = "cancelled" if fut.cancelled() else repr(fut.exception())
        fail_stop(f"a changelog write of table {self.name!r} was lost ({reason})")
        return
    faust_original(Collection, "_on_changelog_sent")(self, fut)


# -- 7. tables restored in bulk ---------------------------------------------------------------

async def _build_offsets(
    self: Any, consumer: Any, tps: Any, destination: Any, title: str
) -> None:
    await faust_original(Recovery, "_build_offsets")(self, consumer, tps, destination, title)
    if title == "active":
        from stream.bulk_restore import restore

        await restore(self, tps, destination)


# -- applying them ---------------------------------------------------------------------------

def check_version(version: str = faust.__version__) -> None:
    if version != CHECKED_VERSION and os.environ.get("CUSTOMS_STREAM_UNCHECKED_FAUST") != "1":
        raise RuntimeError(
            f"faust-streaming {version} is installed; the project's fixes were checked "
            f"against {CHECKED_VERSION} only (see stream/faust_fixes.py)"
        )


def _patches() -> list[tuple[type, str, Any]]:
    """(class, attribute, replacement) for every fix."""
    return [
        (Consumer, "_drain_messages", _drain_messages),
        (Consumer, "_new_offset", _new_offset),
        (Consumer, "perform_seek", _perform_seek),
        (ThreadDelegateConsumer, "_getmany", _getmany),
        (ThreadDelegateConsumer, "_seek", _seek),
        (ThreadDelegateConsumer, "seek_wait", _seek_wait),
        (ProducerBuffer, "flush_atmost", _flush_atmost),
        (Collection, "_on_changelog_sent", _on_changelog_sent),
        (Recovery, "_build_offsets", _build_offsets),
    ]


def apply() -> None:
    """Install every fix (idempotent)."""
    if _ORIGINAL:
        return
    check_version()
    for owner, name, replacement in _patches():
        _ORIGINAL[name] = owner.__dict__[name]
        setattr(owner, name, replacement)


def undo() -> None:
    """Put Faust back as it was (for the tests that show what each fix prevents)."""
    for owner, name, _ in _patches():
        if name in _ORIGINAL:
            setattr(owner, name, _ORIGINAL.pop(name))

"""Fix 1, first half: fetches and seeks take turns (faust-streaming #596; checked against
0.15.3). Faust's fetch loop ran beside seeks (table recovery, the seek to committed
offsets after a rebalance) and the consumer's thread ran a fetch and a seek at once:
records fetched before a seek were handed on after it, and the read offset jumped past
the records fetched again. Here every seek of a partition bumps its epoch, noted with
each batch fetched; the fetch loop (``fetch_loop``) delivers a record only from a batch
fetched in its partition's current epoch."""

from __future__ import annotations

import asyncio
from typing import Any

from faust.types.tuples import TP

from stream.runtime.faust_fixes.base import ThreadDelegateConsumer


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


PATCHES: list[tuple[type, str, Any]] = [
    (ThreadDelegateConsumer, "_getmany", _getmany),
    (ThreadDelegateConsumer, "_seek", _seek),
    (ThreadDelegateConsumer, "seek_wait", _seek_wait),
]

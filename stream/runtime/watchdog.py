"""The commit watchdog: a worker whose partition cannot commit stops, for its supervisor
to restart it, rather than sit on work it will never finish.

A partition is stalled when it has messages past its committed offset and that offset
has not moved for ``stall_timeout`` seconds while the worker was not rebalancing. Its
successor starts from the last commit; outputs are idempotent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from faust.types.tuples import TP

from stream.runtime.faust_fixes import fail_stop

CHECK_EVERY = 5.0  # seconds


@dataclass
class CommitWatch:
    timeout: float
    _since: dict[TP, tuple[int, float]] = field(default_factory=dict)  # offset, since when

    def stalled(self, tp: TP, committed: int | None, highwater: int | None, now: float) -> bool:
        """Note a partition's committed offset; True once it has been stuck too long."""
        offset = committed if committed is not None else -1
        if highwater is None or highwater < 0 or highwater <= max(offset, 0):
            self._since.pop(tp, None)  # nothing waits past the commit
            return False
        known = self._since.get(tp)
        if known is None or known[0] != offset:
            self._since[tp] = (offset, now)
            return False
        return now - known[1] > self.timeout

    def forget(self) -> None:
        """After a rebalance: partitions and offsets start afresh."""
        self._since.clear()


def register(pipeline: Any) -> CommitWatch:
    app, watch = pipeline.app, CommitWatch(pipeline.settings.stall_timeout)

    @app.timer(CHECK_EVERY)
    async def watch_commits() -> None:
        if app.rebalancing or not app.consumer.assignment():
            watch.forget()
            return
        consumer, now = app.consumer, time.monotonic()
        for tp in consumer.assignment():
            if not app.topics.acks_enabled_for(tp.topic):
                continue  # changelogs: read, never committed
            if watch.stalled(tp, consumer._committed_offset.get(tp), consumer.highwater(tp), now):
                fail_stop(
                    f"{tp.topic}[{tp.partition}] has not committed past offset "
                    f"{consumer._committed_offset.get(tp)} for {watch.timeout:.0f}s"
                )

    return watch

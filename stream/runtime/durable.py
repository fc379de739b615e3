"""Table writes whose effects wait until the changelog has them.

A notifier sends HTTP requests, not Kafka records, so the outbox (which holds records
back) does not fit it; the rule is the same. Before a declaration's next update is
sent, the record saying that the previous one was delivered must be stored: were it
lost with a killed process, the successor would send the previous update again after
the next one, a step backwards for the buyer. And a status update read from Kafka is
acknowledged (its offset may be committed) only once the queue it joined is stored.

Writes are stored in groups: one flusher takes every write held since its last round,
sends each changed key once to the changelog, waits for all of them, then lets their
waiters go on in the order they wrote. A lost changelog write stops the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from stream.runtime.faust_fixes import fail_stop
from stream.runtime.heldtable import HeldTable
from stream.runtime.outbox import Outbox

_ROUND = 5_000  # waiters one round takes at most


async def _nothing(_: list[Any]) -> None:
    return None


class Durable:
    """The writes of one HeldTable, stored in rounds."""

    def __init__(self, table: HeldTable) -> None:
        self.table = table
        table.outbox = self._outbox = Outbox(_nothing)
        self._waiting: list[Callable[[], None]] = []
        self._flusher: asyncio.Future[None] | None = None

    def write(self, partition: int, key: Any, value: Any, then: Callable[[], None]) -> None:
        """Write ``key`` (reads see it at once); call ``then`` once it is stored."""
        self.table.hold(partition, key, value)
        self.after(then)

    def after(self, then: Callable[[], None]) -> None:
        """Call ``then`` once every write made before it is stored."""
        self._waiting.append(then)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())

    async def stored(self, partition: int, key: Any, value: Any) -> None:
        """Write ``key`` and return once it is stored."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def release() -> None:
            if not done.done():
                done.set_result(None)

        self.write(partition, key, value, release)
        await done

    @property
    def backlog(self) -> int:
        return len(self._waiting)

    async def _flush(self) -> None:
        try:
            while self._waiting:
                waiting, self._waiting = self._waiting[:_ROUND], self._waiting[_ROUND:]
                changes, self._outbox.changes = self._outbox.changes, []
                for change in changes:
                    await change()
                writes, self._outbox.writes = self._outbox.writes, []
                if writes:
                    await asyncio.wait(writes)
                if any(w.cancelled() or w.exception() is not None for w in writes):
                    fail_stop(f"a changelog write of table {self.table.name} was lost")
                    return
                for then in waiting:
                    then()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            fail_stop(f"table {self.table.name} could not store its writes ({exc!r})")

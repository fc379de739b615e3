"""Fix 4: a flush is a flush (checked against faust-streaming 0.15.3).
``ProducerBuffer.flush`` gave up after 0.1 s without progress, so changelog writes could
trail the commit of the offsets that caused them. It now waits until what the buffer
held when it began is delivered, and fails (no commit) after ``FLUSH_DEADLINE``."""

from __future__ import annotations

import asyncio
from typing import Any

from faust.transport.producer import ProducerBuffer

FLUSH_DEADLINE = 60.0  # seconds a buffer flush may take before the commit is refused

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


PATCHES: list[tuple[type, str, Any]] = [
    (ProducerBuffer, "flush_atmost", _flush_atmost),
]

"""Fix 2: every partition is sought after a rebalance (checked against faust-streaming
0.15.3). ``seek_to_committed`` left a partition with no committed offset (or offset 0)
wherever the fetcher happened to be; such stream partitions are sought to their
beginning (``auto_offset_reset`` is ``earliest``), and every seek is noted (fix 1)."""

from __future__ import annotations

from typing import Any

from stream.runtime.faust_fixes.base import Consumer
from stream.runtime.faust_fixes.seek_turns import _state


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


PATCHES: list[tuple[type, str, Any]] = [
    (Consumer, "perform_seek", _perform_seek),
]

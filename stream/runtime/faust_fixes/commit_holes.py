"""Fix 3: never commit over a hole (faust-streaming #606; checked against 0.15.3). Faust
committed past a single unacknowledged offset at the head of a partition
(``min(acked) - committed > 1``). Here nothing is committed while the offset at the
committed position was never handled; the offsets the log really skips are known as
gaps (noted by ``fetch_loop``)."""

from __future__ import annotations

from typing import Any

from faust.types.tuples import TP

from stream.runtime.faust_fixes.base import Consumer, faust_original


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


PATCHES: list[tuple[type, str, Any]] = [
    (Consumer, "_new_offset", _new_offset),
]

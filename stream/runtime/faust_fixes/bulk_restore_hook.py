"""Fix 7: tables restored in bulk (checked against faust-streaming 0.15.3). Faust restores
a table record by record through its consumer thread, a decode it does not need and a
queue: about 2,300 records a second. Once recovery knows which active changelog
partitions to read, those of the project's RocksDB store are read in large batches
straight into RocksDB (``stream.runtime.bulk_restore``), and recovery carries on."""

from __future__ import annotations

from typing import Any

from faust.tables.recovery import Recovery

from stream.runtime.faust_fixes.base import faust_original


async def _build_offsets(
    self: Any, consumer: Any, tps: Any, destination: Any, title: str
) -> None:
    await faust_original(Recovery, "_build_offsets")(self, consumer, tps, destination, title)
    if title == "active":
        from stream.runtime.bulk_restore import restore

        await restore(self, tps, destination)


PATCHES: list[tuple[type, str, Any]] = [
    (Recovery, "_build_offsets", _build_offsets),
]

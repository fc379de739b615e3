"""The worker's garbage collector, set for a long-running stream process.

CPython runs a young-generation pass for every 700 allocations net of frees, and a full
pass after every hundred young ones. A worker allocates hundreds of objects a record and
holds a large heap that lives as long as it does (Faust's, aiokafka's and RocksDB's
objects, its tables' caches), so full passes walked that heap again and again. The young
generation is collected less often (``CUSTOMS_STREAM_GC_YOUNG_THRESHOLD``), and once the
worker has started and recovered its tables, what it holds then is frozen out of the
collector's way (``gc.freeze``): it is never freed, so it never needs looking at again.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def set_young_threshold(young: int) -> None:
    """Collect the young generation after ``young`` net allocations (CPython's: 700)."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(young, older, oldest)


def freeze_what_start_up_made() -> None:
    """Move everything alive now out of the collector's reach (after one last pass)."""
    gc.collect()
    gc.freeze()
    log.info("heap: %d objects frozen after start-up", gc.get_freeze_count())
